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
	"errors"
	"net/url"
	"testing"
	"time"
)

// FuzzCallback runs untrusted input through the whole protocol path the
// receiver takes: query -> verify -> decode. Whatever the input, nothing may
// panic, and whatever passes must satisfy what the receiver relies on.
func FuzzCallback(f *testing.F) {
	const token = "xxxxyyyy"
	now := time.Unix(1669872112, 0)
	signed := "SdkAppid=1400000001&contenttype=json&ClientIP=10.0.0.1&OptPlatform=RESTAPI&RequestTime=1669872112&Sign=" +
		Sign(token, "1669872112") + "&CallbackCommand="
	for _, s := range []struct{ file, command string }{
		{"destroyed.json", CommandDestroyed},
		{"created.json", CommandAfterCreate},
		{"info-changed.json", CommandInfoChanged},
	} {
		f.Add(signed+url.QueryEscape(s.command), readSample(f, s.file))
	}
	f.Add("SdkAppid=1&SdkAppid=2", []byte(`{}`))
	f.Add("SdkAppid=1400000001&CallbackCommand=x&RequestTime=99999999999999999999&Sign=", []byte(`[{"a":1}]`))

	v := Verifier{MaxSkew: time.Minute, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, rawQuery string, body []byte) {
		values, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		app, err := ParseApp(values)
		if err != nil {
			return
		}
		if app <= 0 {
			t.Fatalf("ParseApp accepted SdkAppid %d", app)
		}
		auth, err := ParseAuth(values)
		if err != nil {
			return
		}
		if err := v.Verify(token, auth); err != nil {
			return
		}
		if auth.Sign != Sign(token, auth.RequestTime) {
			t.Fatalf("Verify accepted Sign %q for RequestTime %q", auth.Sign, auth.RequestTime)
		}
		cmd, err := ParseCommand(values)
		if err != nil {
			return
		}
		if cmd.Name == "" || len(values[ParamCommand]) != 1 {
			t.Fatalf("ParseCommand accepted command %q from %v", cmd.Name, values[ParamCommand])
		}
		if len(body) > MaxBodyBytes {
			return
		}
		ev, err := Decode(cmd.Name, body)
		if err != nil {
			if !errors.Is(err, ErrBody) {
				t.Fatalf("Decode error %v is not ErrBody", err)
			}
			return
		}
		if ev.Command() != cmd.Name {
			t.Fatalf("Decode returned command %q for query command %q", ev.Command(), cmd.Name)
		}
		if d, ok := ev.(*Destroyed); ok {
			if d.EventTime <= 0 || ValidateAccountID(d.OfficialAccount) != nil {
				t.Fatalf("Decode accepted destroyed event %+v", d)
			}
		}
	})
}
