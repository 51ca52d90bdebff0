// Package edge calls Polku's REST edge (the gateway) with the signed-in user's
// bearer token, decoding answers into the generated API types.
package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Client is a REST client of one gateway.
type Client struct {
	base string
	http *http.Client
}

// New returns a client of the gateway at base (e.g. http://127.0.0.1:8080).
func New(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), http: hc}
}

// Caller is one user's view of the edge.
type Caller struct {
	c       *Client
	token   string
	lang    string
	purpose string
}

// As binds the caller's token, UI language (the edge answers plain-words
// summaries in it) and the purpose written to clients' access logs.
func (c *Client) As(token, lang, purpose string) *Caller {
	return &Caller{c: c, token: token, lang: lang, purpose: purpose}
}

// Error is a non-2xx answer: the HTTP status and the google.rpc.Status fields
// the UI shows (reason and field violations carry no personal data).
type Error struct {
	Status     int
	Code       int    `json:"code"`
	Message    string `json:"message"`
	Reason     string
	Violations []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("edge: HTTP %d: %s", e.Status, e.Message)
}

var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// Get fetches path (with query) into out.
func (c *Caller) Get(ctx context.Context, path string, q url.Values, out proto.Message) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

// Post sends body (a JSON-able map or a proto message) and decodes into out
// (which may be nil).
func (c *Caller) Post(ctx context.Context, path string, q url.Values, body any, out proto.Message) error {
	return c.do(ctx, http.MethodPost, path, q, body, out)
}

// Patch is Post with PATCH.
func (c *Caller) Patch(ctx context.Context, path string, q url.Values, body any, out proto.Message) error {
	return c.do(ctx, http.MethodPatch, path, q, body, out)
}

// Delete deletes path (with query).
func (c *Caller) Delete(ctx context.Context, path string, q url.Values) error {
	return c.do(ctx, http.MethodDelete, path, q, nil, nil)
}

func (c *Caller) do(ctx context.Context, method, path string, q url.Values, body any, out proto.Message) error {
	u := c.c.base + "/v1/" + strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		var b []byte
		var err error
		if m, ok := body.(proto.Message); ok {
			b, err = protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		} else {
			b, err = json.Marshal(body)
		}
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept-Language", c.lang)
	if c.purpose != "" {
		req.Header.Set("X-Polku-Purpose", c.purpose)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return unmarshal.Unmarshal(raw, out)
}

func decodeError(status int, raw []byte) *Error {
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason          string `json:"reason"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"field_violations"`
		} `json:"details"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Message = body.Code, body.Message
		for _, d := range body.Details {
			if d.Reason != "" {
				e.Reason = d.Reason
			}
			for _, v := range d.FieldViolations {
				e.Violations = append(e.Violations, v.Field+": "+v.Description)
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}
