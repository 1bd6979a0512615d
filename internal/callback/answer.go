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

package callback

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Answer is the JSON body the Chat backend expects in reply to a webhook.
type Answer struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// Action statuses.
const (
	StatusOK   = "OK"
	StatusFail = "FAIL"
)

// OK is the answer to a callback that was handled.
func OK() Answer { return Answer{ActionStatus: StatusOK} }

// Fail is the answer to a callback that was refused or failed. Its ErrorCode
// is the HTTP status it is sent with, so both sides of a log line agree.
func Fail(status int, info string) Answer {
	return Answer{ActionStatus: StatusFail, ErrorCode: status, ErrorInfo: info}
}

// Write sends the answer with the HTTP status: 200 for OK, the error code for FAIL.
func Write(w http.ResponseWriter, a Answer) {
	status := http.StatusOK
	if a.ActionStatus != StatusOK {
		// A FAIL is never sent as 200: a code that is no HTTP error is a 500.
		status = http.StatusInternalServerError
		if a.ErrorCode >= 400 && a.ErrorCode <= 599 {
			status = a.ErrorCode
		}
	}
	body, err := json.Marshal(a)
	if err != nil { // cannot happen: strings and an int
		body = []byte(`{"ActionStatus":"FAIL","ErrorCode":500,"ErrorInfo":"internal error"}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
