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

package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/channel-operator/channel-operator/internal/callback"
)

// DestroyedRequest is the documented destroyed sample
// (internal/callback/testdata/destroyed.json) for account, signed as call
// says (its Command set to the destroyed callback's), POSTed to the
// receiver at endpoint (…/callback).
func DestroyedRequest(call callback.Call, endpoint, account string) (*http.Request, error) {
	sample, err := os.ReadFile(filepath.Join(RepoRoot(), "internal", "callback", "testdata", "destroyed.json"))
	if err != nil {
		return nil, err
	}
	body := bytes.Replace(sample, []byte("@TOA#_test_OA_for_penn"), []byte(account), 1)
	call.Command = callback.CommandDestroyed
	u, err := call.URL(endpoint)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// metricsClient reads a manager's HTTPS metrics endpoint, whose certificate
// the manager made itself at start (no CA vouches for it).
var metricsClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}

// ScrapeMetrics GETs an HTTPS metrics URL with bearer ("" for none) and
// returns the status and body.
func ScrapeMetrics(url, bearer string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// MakeCommand runs make in the repository with args, without what a make
// running the tests passes to the makes they run (make test KEEP_CRDS=false
// would otherwise reach a make undeploy of a test).
func MakeCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = RepoRoot()
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MAKEOVERRIDES" || name == "MFLAGS" || name == "MAKELEVEL"
	})
	return cmd
}
