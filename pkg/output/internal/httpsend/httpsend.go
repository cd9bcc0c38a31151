// Package httpsend posts alert payloads over HTTP for the webhook and
// Slack outputs: client and TLS setup, and the classification of answers
// into success, retryable failure and permanent refusal.
package httpsend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// Client posts payloads to one URL.
type Client struct {
	url     string
	headers http.Header
	http    *http.Client
}

// New returns a client for url with the given extra headers, per-request
// timeout and TLS settings.
func New(url string, headers map[string]string, timeout time.Duration, tlsCfg tlsconf.TLS) (*Client, error) {
	tc, err := tlsCfg.Config()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 16
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "vigil")
	}
	return &Client{url: url, headers: h, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// StatusError is an unsuccessful HTTP answer.
type StatusError struct {
	Code int
	Body string // the start of the answer's body
}

// Error names the status and the start of the answer's body.
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// Post sends body. Transport errors, 5xx, 408 and 429 answers are
// retryable errors; other non-2xx answers are alert.Permanent.
func (c *Client) Post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return alert.Permanent(err)
	}
	req.Header = c.headers.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &StatusError{Code: resp.StatusCode, Body: string(snippet)}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		return se
	}
	return alert.Permanent(se)
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}
