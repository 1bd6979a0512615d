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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/channel-operator/channel-operator/internal/text"
)

// MaxBodyBytes bounds a webhook body. The largest official-account bodies
// (a message with its MsgBody) stay far below it.
const MaxBodyBytes = 64 << 10

// Channel ID rules for official accounts.
const (
	AccountIDPrefix    = "@TOA#_"
	MaxAccountIDLength = 48
)

// MaxEventTime bounds EventTime (Unix milliseconds): the first instant of the
// year 10000, which an RFC 3339 time (status.destroyedAt) cannot hold.
const MaxEventTime int64 = 253402300800000

// ErrBody marks a body that cannot be used: not JSON, not an object, the
// wrong command or missing fields.
var ErrBody = errors.New("invalid callback body")

// Envelope is what every callback body carries.
type Envelope struct {
	CallbackCommand string `json:"CallbackCommand"`
	// EventTime is in Unix milliseconds.
	EventTime int64 `json:"EventTime"`
}

// Destroyed is the body of OfficialAccount.CallbackAfterOfficialAccountDestroyed.
type Destroyed struct {
	Envelope
	OfficialAccount string `json:"Official_Account"`
	OwnerAccount    string `json:"Owner_Account"`
	Name            string `json:"Name"`
}

// Created is the body of OfficialAccount.CallbackAfterCreateOfficialAccount.
type Created struct {
	Envelope
	OfficialAccount string `json:"Official_Account"`
	OperatorAccount string `json:"Operator_Account"`
	OwnerAccount    string `json:"Owner_Account"`
	Name            string `json:"Name"`
}

// InfoChanged is the body of OfficialAccount.CallbackAfterOfficialAccountInfoChanged.
// Only the changed profile fields are present.
type InfoChanged struct {
	Envelope
	OfficialAccount string `json:"Official_Account"`
	OperatorAccount string `json:"Operator_Account"`
	Name            string `json:"Name,omitempty"`
	Introduction    string `json:"Introduction,omitempty"`
	FaceURL         string `json:"FaceUrl,omitempty"`
	Organization    string `json:"Organization,omitempty"`
	CustomString    string `json:"CustomString,omitempty"`
}

// Event is a decoded callback body.
type Event interface {
	// Command is the body's CallbackCommand.
	Command() string
}

// Command implements Event.
func (e Envelope) Command() string { return e.CallbackCommand }

// Decode parses a callback body sent with the query's command. It checks that
// the body is one JSON object whose CallbackCommand equals command and, for
// the commands it knows in full (Destroyed, Created, InfoChanged), that the
// fields the operator relies on are present and well formed. Other commands
// come back as their Envelope.
func Decode(command string, body []byte) (Event, error) {
	// The query's command picks the type, so the body is decoded once.
	var (
		event   Event
		env     *Envelope
		account *string
	)
	switch command {
	case CommandDestroyed:
		e := &Destroyed{}
		event, env, account = e, &e.Envelope, &e.OfficialAccount
	case CommandAfterCreate:
		e := &Created{}
		event, env, account = e, &e.Envelope, &e.OfficialAccount
	case CommandInfoChanged:
		e := &InfoChanged{}
		event, env, account = e, &e.Envelope, &e.OfficialAccount
	default:
		e := &Envelope{}
		event, env = e, e
	}
	if err := decodeObject(body, event); err != nil {
		return nil, err
	}
	if env.CallbackCommand != command {
		return nil, fmt.Errorf("%w: CallbackCommand %q in the body differs from %q in the query",
			ErrBody, truncate(env.CallbackCommand), truncate(command))
	}
	if account != nil {
		if err := validateAccountEvent(*env, *account); err != nil {
			return nil, err
		}
	}
	return event, nil
}

func validateAccountEvent(env Envelope, account string) error {
	if env.EventTime <= 0 || env.EventTime >= MaxEventTime {
		return fmt.Errorf("%w: EventTime must be a positive number of Unix milliseconds before the year 10000", ErrBody)
	}
	if err := ValidateAccountID(account); err != nil {
		return fmt.Errorf("%w: Official_Account: %w", ErrBody, err)
	}
	return nil
}

// ValidateAccountID checks a channel ID: it starts with @TOA#_, is printable
// ASCII and at most 48 bytes long.
func ValidateAccountID(id string) error {
	switch {
	case id == "":
		return errors.New("missing")
	case len(id) > MaxAccountIDLength:
		return fmt.Errorf("longer than %d bytes", MaxAccountIDLength)
	case !strings.HasPrefix(id, AccountIDPrefix) || len(id) == len(AccountIDPrefix):
		return fmt.Errorf("does not start with %s followed by the channel name", AccountIDPrefix)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return fmt.Errorf("byte %d is not printable ASCII", i)
		}
	}
	return nil
}

// decodeObject decodes exactly one JSON object, nothing before or after it.
func decodeObject(body []byte, into any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrBody)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%w: %s", ErrBody, jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON object", ErrBody)
	}
	return nil
}

// jsonReason describes a decoding error without echoing the input.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %s must be a JSON %s", typeErr.Field, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("malformed JSON at offset %d", syntaxErr.Offset)
	}
	return "malformed JSON"
}

// truncate keeps attacker-chosen strings short in answers and logs.
func truncate(s string) string { return text.Abbrev(s, 80) }
