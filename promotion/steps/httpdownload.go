package steps

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/promotion"
)

// httpDownloadMaxSize caps a download; a variable so that tests can lower it.
var httpDownloadMaxSize int64 = 100 << 20

type httpDownloadConfig struct {
	URL                   string          `json:"url"`
	OutPath               string          `json:"outPath"`
	AllowOverwrite        bool            `json:"allowOverwrite,omitempty"`
	Headers               []httpNameValue `json:"headers,omitempty"`
	QueryParams           []httpNameValue `json:"queryParams,omitempty"`
	InsecureSkipTLSVerify bool            `json:"insecureSkipTLSVerify,omitempty"`
	Timeout               string          `json:"timeout,omitempty"`
}

// httpNameValue is a header or query parameter.
type httpNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Validate checks the URL scheme, names and the timeout.
func (c *httpDownloadConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("url must be an absolute http or https URL")
	}
	if c.OutPath == "" {
		return errors.New("outPath must not be empty")
	}
	for i, h := range c.Headers {
		if h.Name == "" {
			return fmt.Errorf("headers[%d].name must not be empty", i)
		}
	}
	for i, q := range c.QueryParams {
		if q.Name == "" {
			return fmt.Errorf("queryParams[%d].name must not be empty", i)
		}
	}
	if c.Timeout != "" {
		if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 {
			return fmt.Errorf("timeout %q is not a positive duration such as 30s or 5m", c.Timeout)
		}
	}
	return nil
}

// httpDownload saves a URL's body to outPath through the guarded HTTP client (the
// address policy applies to every redirect). An existing file is an error unless
// allowOverwrite is set; the body is capped, and written to a scratch file first, so a
// failed download never leaves half a file at outPath.
func httpDownload(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg httpDownloadConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if fi, err := os.Lstat(out); err == nil {
		if fi.IsDir() || !fi.Mode().IsRegular() {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q exists and is not a regular file", cfg.OutPath))
		}
		if !cfg.AllowOverwrite {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q already exists; set allowOverwrite to replace it", cfg.OutPath))
		}
	}
	timeout := 5 * time.Minute
	if cfg.Timeout != "" {
		timeout, _ = time.ParseDuration(cfg.Timeout)
	}
	client := sc.HTTPClient(timeout)
	if cfg.InsecureSkipTLSVerify {
		if tr, ok := client.Transport.(*http.Transport); ok {
			tr = tr.Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
			c := *client
			c.Transport = tr
			client = &c
		}
	}
	u, _ := url.Parse(cfg.URL)
	q := u.Query()
	for _, p := range cfg.QueryParams {
		q.Add(p.Name, p.Value)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("url: %w", err))
	}
	for _, h := range cfg.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	shown := gitx.Redact(cfg.URL)
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, promotion.ErrForbiddenAddress) {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("downloading %s: %w", shown, err))
		}
		return promotion.StepResult{}, fmt.Errorf("downloading %s: %w", shown, redactURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("downloading %s: server answered %s", shown, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			err = promotion.Terminal(err)
		}
		return promotion.StepResult{}, err
	}
	if resp.ContentLength > httpDownloadMaxSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("downloading %s: the body is %d bytes, larger than the limit of %d", shown, resp.ContentLength, httpDownloadMaxSize))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating the directory of %s: %w", cfg.OutPath, stripPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".download-")
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating %s: %w", cfg.OutPath, stripPath(err))
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, httpDownloadMaxSize+1))
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("downloading %s: %w", shown, redactURLError(stripPath(err)))
	}
	if n > httpDownloadMaxSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("downloading %s: the body is larger than the limit of %d bytes", shown, httpDownloadMaxSize))
	}
	if err := tmp.Close(); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

// redactURLError drops the URL (which may carry credentials) from a *url.Error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
