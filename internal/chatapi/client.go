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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/channel-operator/channel-operator/internal/text"
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

// sigCacheKey holds a hash of the key, not the key: a rotated key must not
// reuse the old key's UserSig, and the map need not hold secrets.
type sigCacheKey struct {
	appID      int64
	identifier string
	keyHash    [sha256.Size]byte
}

type cachedSig struct {
	sig     string
	renewAt time.Time
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

// failure is a failed call and whether another attempt may succeed.
type failure struct {
	err   *Error
	retry bool
}

// request is get_official_account_info's body.
type request struct {
	OfficialAccountIDList []accountID    `json:"OfficialAccountIdList"`
	ResponseFilter        responseFilter `json:"ResponseFilter"`
}

type accountID struct {
	OfficialAccount string `json:"Official_Account"`
}

type responseFilter struct {
	OfficialAccountBaseInfoFilter []string `json:"OfficialAccountBaseInfoFilter"`
}

// answer is get_official_account_info's answer. Items are decoded one by one
// so that one odd item does not lose the others.
type answer struct {
	ActionStatus            string            `json:"ActionStatus"`
	ErrorCode               flexInt           `json:"ErrorCode"`
	ErrorInfo               string            `json:"ErrorInfo"`
	OfficialAccountInfoList []json.RawMessage `json:"OfficialAccountInfoList"`
}

type item struct {
	OfficialAccount string  `json:"Official_Account"`
	ActionStatus    string  `json:"ActionStatus"`
	ErrorCode       flexInt `json:"ErrorCode"`
	ErrorInfo       string  `json:"ErrorInfo"`
	Name            string  `json:"Name"`
	OwnerAccount    string  `json:"Owner_Account"`
	Introduction    string  `json:"Introduction"`
	FaceURL         string  `json:"FaceUrl"`
	Organization    string  `json:"Organization"`
	SubscriberNum   flexInt `json:"SubscriberNum"`
	CreateTime      flexInt `json:"CreateTime"`
	LastMsgTime     flexInt `json:"LastMsgTime"`
}

// flexInt reads a JSON number, a quoted number or null: nothing in the docs
// promises that every integer comes unquoted.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fl != float64(int64(fl)) {
			// The value is not quoted: it comes from the answer, which
			// may echo the request (and its UserSig).
			return errors.New("a number field is not an integer")
		}
		n = int64(fl)
	}
	*f = flexInt(n)
	return nil
}

// once makes one HTTP call and reads its answer.
func (c *Client) attempt(ctx context.Context, creds Credentials, sig string, accounts []string) (*answer, *failure) {
	body := request{ResponseFilter: responseFilter{OfficialAccountBaseInfoFilter: responseFields}}
	for _, a := range accounts {
		body.OfficialAccountIDList = append(body.OfficialAccountIDList, accountID{OfficialAccount: a})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &failure{err: &Error{Reason: ReasonUnreachable, Message: "encoding the request: " + err.Error()}}
	}
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatInt(creds.AppID, 10))
	q.Set("identifier", creds.Identifier)
	q.Set("usersig", sig)
	q.Set("random", strconv.FormatUint(uint64(rand.Uint32()), 10))
	q.Set("contenttype", "json")
	target := strings.TrimRight(creds.Endpoint, "/") + servicePath + CommandGetAccountInfo + "?" + q.Encode()

	callCtx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, target, bytes.NewReader(raw))
	if err != nil {
		// The error would quote the URL, and with it the UserSig.
		return nil, &failure{err: &Error{Reason: ReasonCredentialsRefused, Message: "the endpoint does not make a valid request URL"}}
	}
	req.Header.Set("Content-Type", "application/json")
	redact := redactor(creds, sig)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &failure{retry: ctx.Err() == nil,
			err: &Error{Reason: ReasonUnreachable, Message: redact(c.transportMessage(ctx, callCtx, err))}}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonRateLimited, Message: "Chat answered HTTP 429"}}
	case resp.StatusCode != http.StatusOK:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: fmt.Sprintf("Chat answered HTTP %d", resp.StatusCode)}}
	case err != nil:
		return nil, &failure{retry: ctx.Err() == nil,
			err: &Error{Reason: ReasonUnreachable, Message: redact("reading Chat's answer: " + c.transportMessage(ctx, callCtx, err))}}
	case len(data) > maxResponseBytes:
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: "Chat's answer is larger than 1 MiB"}}
	}
	var ans answer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, &failure{retry: true,
			err: &Error{Reason: ReasonUnreachable, Message: chatMessage(redact("Chat's answer is not the expected JSON: "+err.Error()), -1)}}
	}
	code := int(ans.ErrorCode)
	ans.ErrorInfo = redact(ans.ErrorInfo)
	for i, raw := range ans.OfficialAccountInfoList {
		// The items' ErrorInfo ends up in messages too.
		ans.OfficialAccountInfoList[i] = json.RawMessage(redact(string(raw)))
	}
	switch {
	case code == 0 && ans.ActionStatus == "FAIL":
		return nil, &failure{retry: true, err: &Error{Reason: ReasonUnreachable, Message: "Chat answered FAIL without an error code"}}
	case code == 0 || isAccountCode(code):
		return &ans, nil
	}
	reason, retry := classify(code)
	return nil, &failure{retry: retry, err: &Error{Reason: reason, Code: code, Message: chatMessage(ans.ErrorInfo, code)}}
}

// transportMessage says why http.Client.Do or the body read failed, without
// the *url.Error's URL (which holds the UserSig).
func (c *Client) transportMessage(ctx, callCtx context.Context, err error) string {
	if ctx.Err() != nil {
		return "the call was abandoned: " + ctx.Err().Error()
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("Chat did not answer within %s", c.o.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "calling Chat: " + err.Error()
}

// redactor hides the secrets of a call in a message, raw and as the query
// escaped them: a message must be safe for logs, events and status.
func redactor(creds Credentials, sig string) func(string) string {
	var pairs []string
	for _, s := range []string{sig, creds.UserSig, creds.SecretKey} {
		if s != "" {
			pairs = append(pairs, s, "<redacted>", url.QueryEscape(s), "<redacted>")
		}
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

func chatMessage(info string, code int) string {
	if info == "" {
		return fmt.Sprintf("Chat answered error %d without ErrorInfo", code)
	}
	return text.Abbrev(info, maxErrorInfo)
}

// match gives each account the item Chat answered for it: by
// Official_Account when the item names it, otherwise by position, but only
// when there are as many items as accounts. An account left without an item
// is Unreachable, never Gone: a missing item says nothing of the account.
// It returns the accounts of a batch of several found Gone by position.
func (c *Client) match(accounts []string, raws []json.RawMessage, out map[string]*Result) (goneByPosition []string) {
	at := c.o.Now()
	index := make(map[string]int, len(accounts))
	for i, a := range accounts {
		index[a] = i
	}
	found := make([]*item, len(accounts))
	byPosition := make([]bool, len(accounts))
	broken := make([]bool, len(accounts))
	items := make([]*item, len(raws))
	for i, raw := range raws {
		var it item
		if err := json.Unmarshal(raw, &it); err == nil {
			items[i] = &it
		}
	}
	// Named items first: an item that names an account is never taken by position.
	for _, it := range items {
		if it == nil || it.OfficialAccount == "" {
			continue
		}
		if j, ok := index[it.OfficialAccount]; ok && found[j] == nil {
			found[j] = it
		}
	}
	if len(raws) == len(accounts) {
		for i, it := range items {
			switch {
			case found[i] != nil || broken[i]:
			case it == nil:
				broken[i] = true
			case it.OfficialAccount == "":
				found[i], byPosition[i] = it, true
			}
		}
	}
	for i, a := range accounts {
		r := out[a]
		r.At = at
		switch {
		case broken[i]:
			r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat's item for this account cannot be parsed"}
		case found[i] == nil:
			r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat's answer has no item for this account"}
		default:
			c.fromItem(r, a, found[i])
			if r.Gone && byPosition[i] && len(accounts) > 1 {
				goneByPosition = append(goneByPosition, a)
			}
		}
	}
	return goneByPosition
}

func (c *Client) fromItem(r *Result, account string, it *item) {
	code := int(it.ErrorCode)
	switch {
	case code == 0 && it.ActionStatus == "FAIL":
		r.Err = &Error{Reason: ReasonUnreachable, Message: "Chat marked this account's item FAIL without an error code"}
	case code == 0:
		r.Info = &AccountInfo{
			Account:         account,
			Name:            it.Name,
			OwnerAccount:    it.OwnerAccount,
			Introduction:    it.Introduction,
			FaceURL:         it.FaceURL,
			Organization:    it.Organization,
			SubscriberCount: int64(it.SubscriberNum),
			CreateTime:      int64(it.CreateTime),
			LastMessageTime: int64(it.LastMsgTime),
		}
	case code == CodeAccountNotFound:
		r.Gone = true
	case code == CodeBadAccountID || code == CodeInvalidParameter:
		r.Err = &Error{Reason: ReasonAccountRejected, Code: code, Message: chatMessage(it.ErrorInfo, code)}
	default:
		reason, _ := classify(code)
		r.Err = &Error{Reason: reason, Code: code, Message: chatMessage(it.ErrorInfo, code)}
	}
}

// Error codes the client treats specially besides the exported ones.
const (
	codeUserSigExpired = 70001
)

// isAccountCode: the code is about an account, and so about the whole batch
// only when the batch holds one account.
func isAccountCode(code int) bool {
	return code == CodeAccountNotFound || code == CodeBadAccountID || code == CodeInvalidParameter
}

// classify maps a Chat error code that is not about one account to a Reason,
// and says whether another attempt may succeed.
func classify(code int) (Reason, bool) {
	switch code {
	case 10004, 20005, 60002, 60003:
		return ReasonUnreachable, true
	case 60007, 60011, 60018, 60019, 70050:
		return ReasonRateLimited, true
	case 60004, 60005, 60006, 60010, 60016, 60020, 60021, 130002:
		return ReasonCredentialsRefused, false
	case CodeServiceNotEnabled:
		return ReasonServiceNotEnabled, false
	}
	if code >= 70000 && code < 80000 {
		// 70001, 70003, 70009, 70013, 70014, 70016, 70020 and the rest of
		// the UserSig family: a new key or UserSig is needed.
		return ReasonCredentialsRefused, false
	}
	// An unknown code is most likely Chat's own trouble; retrying is cheap
	// and never turns into a destruction.
	return ReasonUnreachable, true
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

// userSig returns the UserSig for a call and whether it was made from the
// key. One made from the key is reused until 90% of its validity passed.
func (c *Client) userSig(creds Credentials) (string, bool, *Error) {
	if creds.UserSig != "" {
		return creds.UserSig, false, nil
	}
	key := sigCacheKey{appID: creds.AppID, identifier: creds.Identifier, keyHash: sha256.Sum256([]byte(creds.SecretKey))}
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sigs[key]; ok && now.Before(s.renewAt) {
		return s.sig, true, nil
	}
	sig, err := MakeUserSig(creds.AppID, creds.Identifier, creds.SecretKey, now, c.o.UserSigValidity)
	if err != nil {
		return "", true, &Error{Reason: ReasonCredentialsRefused, Message: err.Error()}
	}
	// Entries of rotated keys would otherwise stay forever.
	for k, s := range c.sigs {
		if !now.Before(s.renewAt) {
			delete(c.sigs, k)
		}
	}
	c.sigs[key] = cachedSig{sig: sig, renewAt: now.Add(c.o.UserSigValidity / 10 * 9)}
	return sig, true, nil
}

// dropSig forgets a UserSig Chat called expired (the clock jumped, or Chat's
// differs), unless another call already replaced it.
func (c *Client) dropSig(creds Credentials, sig string) {
	key := sigCacheKey{appID: creds.AppID, identifier: creds.Identifier, keyHash: sha256.Sum256([]byte(creds.SecretKey))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sigs[key]; ok && s.sig == sig {
		delete(c.sigs, key)
	}
}
