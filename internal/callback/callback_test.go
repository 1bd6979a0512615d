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
	"bufio"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignDocumentedVector(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sign-vector.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	vectors := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("bad vector line %q", line)
		}
		if got := Sign(fields[0], fields[1]); got != fields[2] {
			t.Errorf("Sign(%q, %q) = %s, want %s", fields[0], fields[1], got, fields[2])
		}
		vectors++
	}
	if vectors == 0 {
		t.Fatal("no test vector read")
	}
}

// parse runs the three steps in the receiver's order and says which one failed.
func parse(v url.Values) (app int64, auth Auth, cmd Command, failed string) {
	var err error
	if app, err = ParseApp(v); err != nil {
		return 0, Auth{}, Command{}, "app"
	}
	if auth, err = ParseAuth(v); err != nil {
		return app, Auth{}, Command{}, "auth"
	}
	if cmd, err = ParseCommand(v); err != nil {
		return app, auth, Command{}, "command"
	}
	return app, auth, cmd, ""
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		wantApp    int64
		wantAuth   Auth
		wantCmd    Command
		wantFailed string // the step that refuses the query: app, auth, command
	}{
		{
			name: "documented parameters",
			query: "SdkAppid=1400000001&CallbackCommand=OfficialAccount.CallbackAfterOfficialAccountDestroyed" +
				"&contenttype=json&ClientIP=10.1.2.3&OptPlatform=RESTAPI&RequestTime=1669872112&Sign=abc",
			wantApp:  1400000001,
			wantAuth: Auth{RequestTime: "1669872112", Sign: "abc"},
			wantCmd:  Command{Name: CommandDestroyed, ClientIP: "10.1.2.3", OptPlatform: "RESTAPI"},
		},
		{name: "IOS platform", query: "SdkAppid=1&CallbackCommand=c&OptPlatform=IOS",
			wantApp: 1, wantCmd: Command{Name: "c", OptPlatform: "IOS"}},
		{name: "unknown platform", query: "SdkAppid=1&CallbackCommand=c&OptPlatform=HarmonyOS",
			wantApp: 1, wantCmd: Command{Name: "c", OptPlatform: "HarmonyOS"}},
		{name: "repeated client IP keeps the first", query: "SdkAppid=1&CallbackCommand=c&ClientIP=1.1.1.1&ClientIP=2.2.2.2",
			wantApp: 1, wantCmd: Command{Name: "c", ClientIP: "1.1.1.1"}},
		{name: "missing app", query: "CallbackCommand=c", wantFailed: "app"},
		{name: "lower-case app parameter is not the documented one", query: "sdkappid=1&CallbackCommand=c", wantFailed: "app"},
		{name: "app not a number", query: "SdkAppid=abc&CallbackCommand=c", wantFailed: "app"},
		{name: "app zero", query: "SdkAppid=0&CallbackCommand=c", wantFailed: "app"},
		{name: "app negative", query: "SdkAppid=-1&CallbackCommand=c", wantFailed: "app"},
		{name: "app twice", query: "SdkAppid=1&SdkAppid=2&CallbackCommand=c", wantFailed: "app"},
		{name: "sign twice", query: "SdkAppid=1&CallbackCommand=c&Sign=a&Sign=b", wantFailed: "auth"},
		{name: "request time twice", query: "SdkAppid=1&CallbackCommand=c&RequestTime=1&RequestTime=2", wantFailed: "auth"},
		{name: "missing command", query: "SdkAppid=1", wantFailed: "command"},
		{name: "command twice", query: "SdkAppid=1&CallbackCommand=a&CallbackCommand=b", wantFailed: "command"},
		{name: "content type not json", query: "SdkAppid=1&CallbackCommand=c&contenttype=xml", wantFailed: "command"},
		{name: "content type twice", query: "SdkAppid=1&CallbackCommand=c&contenttype=json&contenttype=json", wantFailed: "command"},
		// The app is checked before authentication, authentication before the rest.
		{name: "bad app wins over bad sign", query: "SdkAppid=x&Sign=a&Sign=b&CallbackCommand=a&CallbackCommand=b", wantFailed: "app"},
		{name: "bad sign wins over bad command", query: "SdkAppid=1&Sign=a&Sign=b&CallbackCommand=a&CallbackCommand=b", wantFailed: "auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			app, auth, cmd, failed := parse(v)
			if failed != tt.wantFailed {
				t.Fatalf("%q: refused by step %q, want %q", tt.query, failed, tt.wantFailed)
			}
			if failed == "" && (app != tt.wantApp || auth != tt.wantAuth || cmd != tt.wantCmd) {
				t.Fatalf("%q = %d, %+v, %+v; want %d, %+v, %+v", tt.query, app, auth, cmd, tt.wantApp, tt.wantAuth, tt.wantCmd)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1669872112, 0)
	v := Verifier{MaxSkew: time.Minute, Now: func() time.Time { return now }}
	signed := func(token string, at time.Time) Auth {
		rt := itoa(at.Unix())
		return Auth{RequestTime: rt, Sign: Sign(token, rt)}
	}
	tests := []struct {
		name    string
		v       Verifier
		token   string
		a       Auth
		wantErr error
	}{
		{name: "documented vector", v: v, token: "xxxxyyyy",
			a: Auth{RequestTime: "1669872112", Sign: "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"}},
		{name: "skew at the limit", v: v, token: "t", a: signed("t", now.Add(-time.Minute))},
		{name: "future at the limit", v: v, token: "t", a: signed("t", now.Add(time.Minute))},
		{name: "replayed outside the window", v: v, token: "t", a: signed("t", now.Add(-61*time.Second)), wantErr: ErrRequestTime},
		{name: "from the future", v: v, token: "t", a: signed("t", now.Add(61*time.Second)), wantErr: ErrRequestTime},
		{name: "forged sign", v: v, token: "t", a: Auth{RequestTime: "1669872112", Sign: Sign("other", "1669872112")}, wantErr: ErrSign},
		{name: "upper-case sign", v: v, token: "xxxxyyyy",
			a: Auth{RequestTime: "1669872112", Sign: "17773BC39A671D7B9AA835458704D2A6DB81360A5940292B587D6D760D484061"}, wantErr: ErrSign},
		{
			name:    "sign for another time",
			v:       v,
			token:   "t",
			a:       Auth{RequestTime: "1669872112", Sign: Sign("t", "1669872111")},
			wantErr: ErrSign,
		},
		{name: "missing sign", v: v, token: "t", a: Auth{RequestTime: "1669872112"}, wantErr: ErrUnsigned},
		{name: "missing request time", v: v, token: "t", a: Auth{Sign: "x"}, wantErr: ErrUnsigned},
		{name: "request time not a number", v: v, token: "t", a: Auth{RequestTime: "soon", Sign: "x"}, wantErr: ErrRequestTime},
		{name: "empty token refused by default", v: v, token: "", a: Auth{}, wantErr: ErrUnsigned},
		{name: "empty token allowed unsigned", v: Verifier{MaxSkew: time.Minute, AllowUnsigned: true}, token: "", a: Auth{}},
		{name: "allow-unsigned does not weaken a token", v: Verifier{MaxSkew: time.Minute, AllowUnsigned: true, Now: v.Now},
			token: "t", a: Auth{}, wantErr: ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Verify(tt.token, tt.a)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeDocumentedSamples(t *testing.T) {
	d, err := Decode(CommandDestroyed, readSample(t, "destroyed.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Destroyed{Envelope: Envelope{CallbackCommand: CommandDestroyed, EventTime: 1670574414123},
		OfficialAccount: "@TOA#_test_OA_for_penn", OwnerAccount: "107867", Name: "TestOfficialAccount"}
	if *d.(*Destroyed) != *want {
		t.Fatalf("destroyed sample = %+v, want %+v", d, want)
	}

	c, err := Decode(CommandAfterCreate, readSample(t, "created.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*Created); got.OfficialAccount != "@TOA#_test_OA_for_penn" || got.OperatorAccount != "107867" ||
		got.Name != "TestOfficialAccount" {
		t.Fatalf("created sample = %+v", got)
	}

	i, err := Decode(CommandInfoChanged, readSample(t, "info-changed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := i.(*InfoChanged); got.Name != "NewName" || got.FaceURL != "http://this.is.newface.url" ||
		got.Organization != "NewOrganization" || got.Introduction != "NewNotification" || got.OperatorAccount != "leckie" {
		t.Fatalf("info-changed sample = %+v", got)
	}
}

func TestDecodeRefusesBadBodies(t *testing.T) {
	destroyed := string(readSample(t, "destroyed.json"))
	tests := []struct {
		name    string
		command string
		body    string
	}{
		{"empty", CommandDestroyed, ""},
		{"not JSON", CommandDestroyed, "CallbackCommand=x"},
		{"JSON array", CommandDestroyed, `[` + destroyed + `]`},
		{"JSON string", CommandDestroyed, `"x"`},
		{"truncated", CommandDestroyed, destroyed[:len(destroyed)/2]},
		{"two objects", CommandDestroyed, destroyed + destroyed},
		{"trailing garbage", CommandDestroyed, destroyed + "x"},
		{"command differs from query", CommandAfterCreate, destroyed},
		{"command missing", CommandDestroyed, `{"Official_Account":"@TOA#_a","EventTime":1}`},
		{"account missing", CommandDestroyed, `{"CallbackCommand":"` + CommandDestroyed + `","EventTime":1}`},
		{
			"account without prefix",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"news","EventTime":1}`,
		},
		{
			"account too long",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_` + strings.Repeat("x", 43) + `","EventTime":1}`,
		},
		{
			"account not ASCII",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_caf\u00e9","EventTime":1}`,
		},
		{"event time missing", CommandDestroyed, `{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a"}`},
		{
			"event time negative",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a","EventTime":-1}`,
		},
		{
			"event time in the year 10000",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a","EventTime":253402300800000}`,
		},
		{
			"event time far beyond",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a","EventTime":9223372036854775807}`,
		},
		{
			"event time a string",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a","EventTime":"1"}`,
		},
		{
			"event time fractional",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","Official_Account":"@TOA#_a","EventTime":1.5}`,
		},
		{
			"deeply nested",
			CommandDestroyed,
			`{"CallbackCommand":"` + CommandDestroyed + `","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.command, []byte(tt.body)); !errors.Is(err, ErrBody) {
				t.Fatalf("Decode = %v, want ErrBody", err)
			}
		})
	}
}

func TestDecodeOtherCommandsKeepEnvelope(t *testing.T) {
	e, err := Decode(
		"OfficialAccount.SomethingNew",
		[]byte(`{"CallbackCommand":"OfficialAccount.SomethingNew","EventTime":5,"Extra":[1,2]}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if env, ok := e.(*Envelope); !ok || env.EventTime != 5 || env.Command() != "OfficialAccount.SomethingNew" {
		t.Fatalf("Decode = %#v", e)
	}
}

func TestWriteAnswer(t *testing.T) {
	tests := []struct {
		a          Answer
		wantStatus int
		wantBody   string
	}{
		{OK(), 200, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`},
		{Fail(401, "Sign does not match"), 401, `{"ActionStatus":"FAIL","ErrorCode":401,"ErrorInfo":"Sign does not match"}`},
		{Fail(503, "not ready"), 503, `{"ActionStatus":"FAIL","ErrorCode":503,"ErrorInfo":"not ready"}`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Write(rec, tt.a)
		if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Write(%+v) = %d %q %q", tt.a, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A call made with Call and DestroyedBody passes the receiver's own checks.
func TestCallRoundTrip(t *testing.T) {
	at := time.Unix(1669872112, 0)
	raw, err := Call{SDKAppID: 1400000001, Token: "xxxxyyyy", Command: CommandDestroyed, ClientIP: "1.2.3.4",
		OptPlatform: "RESTAPI", RequestTime: at}.URL("http://receiver:8082/callback?x=1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	app, auth, cmd, failed := parse(u.Query())
	if failed != "" || app != 1400000001 {
		t.Fatalf("URL %s refused by step %q", raw, failed)
	}
	if auth.Sign != "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061" || u.Query().Get("x") != "1" {
		t.Fatalf("URL %s", raw)
	}
	if err := (Verifier{MaxSkew: time.Minute, Now: func() time.Time { return at }}).Verify("xxxxyyyy", auth); err != nil {
		t.Fatal(err)
	}
	ev, err := Decode(cmd.Name, DestroyedBody("@TOA#_news", "owner", "News", 1670574414123))
	if err != nil {
		t.Fatal(err)
	}
	if d := ev.(*Destroyed); d.OfficialAccount != "@TOA#_news" || d.EventTime != 1670574414123 {
		t.Fatalf("decoded %+v", d)
	}
}
