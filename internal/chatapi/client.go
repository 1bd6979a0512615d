/*
Copyright 2026 The channel-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package chatapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of ClientOptions.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultQPS             = 20
	DefaultMaxAttempts     = 3
	DefaultBackoff         = 200 * time.Millisecond
	DefaultUserSigValidity = 7 * 24 * time.Hour
	// MaxBackoff caps the doubling wait between attempts: a longer outage is
	// the next observation's business, not this call's.
	MaxBackoff = 2 * time.Second
)

// maxResponseBytes bounds what is read of an answer: 50 full profiles are
// far below it, and a broken or hostile endpoint must not exhaust memory.
const maxResponseBytes = 1 << 20

// maxErrorInfo bounds Chat's ErrorInfo in a Result: it ends up in status
// conditions and events.
const maxErrorInfo = 256

// servicePath is the REST service of the official-account commands.
const servicePath = "/v4/official_account_open_http_svc/"

// responseFields is the filter sent with every call: only what AccountInfo
// holds, so that a large CustomString is not sent for nothing.
var responseFields = []string{
	"CreateTime", "Name", "Owner_Account", "LastMsgTime", "SubscriberNum", "Introduction", "FaceUrl", "Organization",
}

// ClientOptions configure a Client. Zero values take the defaults above.
type ClientOptions struct {
	// HTTPClient makes the calls; its redirects are never followed, because
	// the URL carries the UserSig. Default: a client over http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds each HTTP call, retries excluded.
	Timeout time.Duration
	// QPS is the most calls per second per app, whatever the number of
	// concurrent GetAccounts calls for it. Chat allows 200.
	QPS float64
	// MaxAttempts counts the first call: 1 means no retry.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles up to MaxBackoff.
	Backoff time.Duration
	// UserSigValidity is the validity of UserSigs made from a secret key.
	UserSigValidity time.Duration
	// Now is the clock for UserSigs and Result.At. Default: time.Now.
	Now func() time.Time
	// Observe, when set, is told of every HTTP call: the command, "ok" or a
	// Reason, and how long the call took.
	Observe func(command, result string, d time.Duration)
}

// Client calls get_official_account_info. It is safe for concurrent use; it
// never logs, and its errors never hold a key or a UserSig.
type Client struct {
	o    ClientOptions
	http *http.Client

	mu       sync.Mutex
	limiters map[int64]*rate.Limiter
	sigs     map[sigCacheKey]cachedSig
}

// NewClient returns a Client with o's zero fields defaulted.
func NewClient(o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QPS <= 0 {
		o.QPS = DefaultQPS
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.UserSigValidity <= 0 {
		o.UserSigValidity = DefaultUserSigValidity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	hc := &http.Client{Transport: http.DefaultTransport}
	if o.HTTPClient != nil {
		copied := *o.HTTPClient
		hc = &copied
	}
	// A redirect would send the UserSig in the query to wherever it points,
	// possibly over plain HTTP. Chat does not redirect; a 3xx is a failure.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{o: o, http: hc, limiters: map[int64]*rate.Limiter{}, sigs: map[sigCacheKey]cachedSig{}}
}

// ValidateEndpoint accepts an https:// base URL, or http:// to a loopback
// host (a local fake or proxy): the UserSig travels in the query.
func ValidateEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("the endpoint is not a URL: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("the endpoint %q has no host", s)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return errors.New("the endpoint must not carry user info, a query or a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("the endpoint %s://%s is plain http to a host that is not loopback: the UserSig would travel in clear",
			u.Scheme, u.Host)
	default:
		return fmt.Errorf("the endpoint's scheme %q is not https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GetAccounts asks Chat about each distinct account and returns one Result
// per account, in the order of first appearance. It calls Chat in batches of
// at most MaxBatch, waits for the app's rate limiter before each call and
// retries transient failures. A Result is Gone only when Chat answered 130004
// for that one account.
func (c *Client) GetAccounts(ctx context.Context, creds Credentials, accounts []string) []Result {
	order := make([]string, 0, len(accounts))
	out := make(map[string]*Result, len(accounts))
	var ask []string
	for _, a := range accounts {
		if _, dup := out[a]; dup {
			continue
		}
		order = append(order, a)
		out[a] = &Result{Account: a}
		if a == "" {
			// Chat would refuse the whole batch (6017) and cost a split.
			out[a].Err = &Error{Reason: ReasonAccountRejected, Message: "the account ID is empty"}
			out[a].At = c.o.Now()
			continue
		}
		ask = append(ask, a)
	}
	if creds.Endpoint == "" {
		creds.Endpoint = DefaultEndpoint
	}
	if creds.Identifier == "" {
		creds.Identifier = DefaultIdentifier
	}
	if e := c.precheck(creds); e != nil {
		c.fail(out, ask, e)
	} else {
		for start := 0; start < len(ask); start += MaxBatch {
			c.ask(ctx, creds, ask[start:min(start+MaxBatch, len(ask))], out)
		}
	}
	results := make([]Result, len(order))
	for i, a := range order {
		results[i] = *out[a]
	}
	return results
}

// precheck refuses, without a call, what Chat would certainly refuse.
func (c *Client) precheck(creds Credentials) *Error {
	if err := ValidateEndpoint(creds.Endpoint); err != nil {
		return &Error{Reason: ReasonCredentialsRefused, Message: err.Error()}
	}
	switch {
	case creds.AppID <= 0:
		return &Error{Reason: ReasonCredentialsRefused, Message: fmt.Sprintf("the SDKAppID %d is not positive", creds.AppID)}
	case creds.UserSig != "":
		// A token that cannot be decoded is left to Chat to judge: other
		// writers may produce variants this package does not read.
		if info, err := DecodeUserSig(creds.UserSig); err == nil && !c.o.Now().Before(info.ExpiresAt()) {
			return &Error{Reason: ReasonCredentialsRefused,
				Message: "the UserSig expired at " + info.ExpiresAt().UTC().Format(time.RFC3339)}
		}
	case creds.SecretKey == "":
		return &Error{Reason: ReasonCredentialsRefused, Message: "neither a secret key nor a UserSig is set"}
	}
	return nil
}

func (c *Client) fail(out map[string]*Result, accounts []string, e *Error) {
	at := c.o.Now()
	for _, a := range accounts {
		copied := *e
		out[a].Err, out[a].At = &copied, at
	}
}

// ask gets an answer for every account of one batch. When Chat refuses the
// whole batch for an account error, it cannot say which account: the batch is
// split in halves until each account has its own answer.
func (c *Client) ask(ctx context.Context, creds Credentials, accounts []string, out map[string]*Result) {
	ans, e := c.call(ctx, creds, accounts)
	if e != nil {
		c.fail(out, accounts, e)
		return
	}
	code := int(ans.ErrorCode)
	if code == 0 {
		// A destruction is the one answer that deletes things: one taken
		// by position from a batch (items that do not name their account,
		// in an order Chat does not document) is asked again alone.
		for _, a := range c.match(accounts, ans.OfficialAccountInfoList, out) {
			*out[a] = Result{Account: a}
			c.ask(ctx, creds, []string{a}, out)
		}
		return
	}
	if len(accounts) > 1 {
		half := len(accounts) / 2
		c.ask(ctx, creds, accounts[:half], out)
		c.ask(ctx, creds, accounts[half:], out)
		return
	}
	r := out[accounts[0]]
	r.At = c.o.Now()
	if code == CodeAccountNotFound {
		r.Gone = true
		return
	}
	r.Err = &Error{Reason: ReasonAccountRejected, Code: code, Message: chatMessage(ans.ErrorInfo, code)}
}

// call makes one HTTP call, retried while it fails transiently. The answer
// it returns has ErrorCode 0 or an account error (isAccountCode); any other
// outcome is the *Error.
func (c *Client) call(ctx context.Context, creds Credentials, accounts []string) (*answer, *Error) {
	lim := c.limiter(creds.AppID)
	wait := c.o.Backoff
	for attempt := 1; ; attempt++ {
		if err := lim.Wait(ctx); err != nil {
			return nil, &Error{Reason: ReasonUnreachable, Message: "no call made: " + err.Error()}
		}
		sig, fromKey, e := c.userSig(creds)
		if e != nil {
			return nil, e
		}
		start := time.Now()
		ans, f := c.attempt(ctx, creds, sig, accounts)
		c.observe(ans, f, time.Since(start))
		if f == nil {
			return ans, nil
		}
		if f.err.Code == codeUserSigExpired && fromKey {
			c.dropSig(creds, sig)
		}
		if !f.retry || attempt >= c.o.MaxAttempts || ctx.Err() != nil {
			return nil, f.err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, f.err
		case <-t.C:
		}
		wait = min(2*wait, MaxBackoff)
	}
}

func (c *Client) observe(ans *answer, f *failure, d time.Duration) {
	if c.o.Observe == nil {
		return
	}
	result := "ok"
	switch {
	case f != nil:
		result = string(f.err.Reason)
	case int(ans.ErrorCode) == CodeBadAccountID || int(ans.ErrorCode) == CodeInvalidParameter:
		result = string(ReasonAccountRejected)
	}
	c.o.Observe(CommandGetAccountInfo, result, d)
}

func (c *Client) limiter(appID int64) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[appID]
	if !ok {
		// Burst 1 and calls spaced a tenth wider than 1/QPS: a token
		// bucket lets rate x 1 s + burst calls into a second, so at the full
		// rate a second that starts on a call holds QPS+1. At 0.9 x QPS no
		// second, wherever it starts, holds more than QPS, with room for
		// some network jitter.
		l = rate.NewLimiter(rate.Limit(0.9*c.o.QPS), 1)
		c.limiters[appID] = l
	}
	return l
}
