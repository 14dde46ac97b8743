package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	sigsyaml "sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// maxHTTPResponse caps how much of a response body the http step reads.
const maxHTTPResponse = 2 << 20

type httpConfig struct {
	Method                string       `json:"method,omitempty"`
	URL                   string       `json:"url"`
	Headers               []httpHeader `json:"headers,omitempty"`
	QueryParams           []httpHeader `json:"queryParams,omitempty"`
	Body                  string       `json:"body,omitempty"`
	Timeout               string       `json:"timeout,omitempty"`
	InsecureSkipTLSVerify bool         `json:"insecureSkipTLSVerify,omitempty"`
	SuccessExpression     string       `json:"successExpression,omitempty"`
	FailureExpression     string       `json:"failureExpression,omitempty"`
	Outputs               []httpOutput `json:"outputs,omitempty"`
	PollInterval          string       `json:"pollInterval,omitempty"`
	// BodyFromFile is a work-dir file whose contents are the body (Kargo's key).
	BodyFromFile string `json:"bodyFromFile,omitempty"`
	// ErrorExpression extracts a message from a response that met failureExpression.
	ErrorExpression string `json:"errorExpression,omitempty"`
	// ResponseContentType overrides the response's Content-Type for parsing the body.
	ResponseContentType string `json:"responseContentType,omitempty"`
	// Proxy is Kargo's proxy URL; Haul refuses it (see Validate).
	Proxy string `json:"proxy,omitempty"`
}

type httpHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type httpOutput struct {
	Name           string `json:"name"`
	FromExpression string `json:"fromExpression"`
}

func (c *httpConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http or https URL", displayURL(c.URL))
	}
	if err := checkStepDuration("timeout", c.Timeout); err != nil {
		return err
	}
	if c.Body != "" && c.BodyFromFile != "" {
		return errors.New("set only one of body and bodyFromFile")
	}
	switch c.ResponseContentType {
	case "", "application/json", "application/yaml", "text/plain":
	default:
		return fmt.Errorf("responseContentType %q must be one of application/json, application/yaml and text/plain", c.ResponseContentType)
	}
	if c.Proxy != "" {
		return fmt.Errorf("proxy %q: Haul's http step sends no request through a proxy, because the step address policy checks the address it dials and a proxy would hide the real one", displayURL(c.Proxy))
	}
	return checkStepDuration("pollInterval", c.PollInterval)
}

// checkStepDuration parses an optional duration field of a step config and refuses
// values above haulv1.MaxStepTimeout.
func checkStepDuration(field, v string) error {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%s %q: %w", field, v, err)
	}
	if d > haulv1.MaxStepTimeout {
		return fmt.Errorf("%s %q is longer than the maximum of 24h", field, v)
	}
	if d < 0 {
		return fmt.Errorf("%s %q must not be negative", field, v)
	}
	return nil
}

// httpStep sends one request and judges the response with expressions over
// response.status, response.headers and response.body (parsed JSON when it is JSON).
// When a successExpression is set and neither expression holds, the step stays Running
// and is polled again.
func httpStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg httpConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	timeout := 10 * time.Second
	if cfg.Timeout != "" {
		timeout, _ = time.ParseDuration(cfg.Timeout)
	}
	method := strings.ToUpper(cfg.Method)
	if method == "" {
		method = http.MethodGet
	}
	u, _ := url.Parse(cfg.URL)
	if len(cfg.QueryParams) > 0 {
		q := u.Query()
		for _, p := range cfg.QueryParams {
			q.Add(p.Name, p.Value)
		}
		u.RawQuery = q.Encode()
	}
	body := cfg.Body
	if cfg.BodyFromFile != "" {
		p, err := sc.Path("bodyFromFile", cfg.BodyFromFile)
		if err != nil {
			return promotion.StepResult{}, err
		}
		b, err := readCapped(p, cfg.BodyFromFile)
		if err != nil {
			return promotion.StepResult{}, err
		}
		body = string(b)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, u.String(), strings.NewReader(body))
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("building request: %w", err))
	}
	for _, h := range cfg.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := sc.HTTPClient(timeout).Do(req)
	if err != nil {
		if errors.Is(err, promotion.ErrForbiddenAddress) {
			// Name the address and the range: with redirects and DNS, the URL alone
			// does not say what was refused.
			var fe *promotion.ForbiddenAddressError
			if errors.As(err, &fe) {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s %s: %w", method, redactURL(u), fe))
			}
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s %s: %w", method, redactURL(u), promotion.ErrForbiddenAddress))
		}
		if timedOut(ctx, err) {
			return promotion.StepResult{}, fmt.Errorf("%s %s: no complete response within the %s timeout", method, redactURL(u), timeout)
		}
		return promotion.StepResult{}, fmt.Errorf("%s %s: %w", method, redactURL(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPResponse+1))
	if err != nil {
		if timedOut(ctx, err) {
			return promotion.StepResult{}, fmt.Errorf("%s %s: no complete response within the %s timeout (HTTP %d, body still arriving)", method, redactURL(u), timeout, resp.StatusCode)
		}
		return promotion.StepResult{}, fmt.Errorf("%s %s: reading response: %w", method, redactURL(u), err)
	}
	if len(respBody) > maxHTTPResponse {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("response body is larger than %d bytes", maxHTTPResponse))
	}
	headers := map[string]any{}
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	parsed, err := parseResponseBody(respBody, cfg.ResponseContentType)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("HTTP %d response: %w", resp.StatusCode, err))
	}
	env := promotion.Env{
		"response": map[string]any{"status": resp.StatusCode, "headers": headers, "body": parsed},
		"vars":     sc.Vars, "outputs": sc.Outputs,
		"ctx": map[string]any{"project": sc.Project, "stage": sc.Stage, "promotion": sc.Promotion},
	}
	outputs := map[string]any{}
	for i, o := range cfg.Outputs {
		v, err := evalExpr(o.FromExpression, env)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outputs[%d] (%s): %w", i, o.Name, err))
		}
		outputs[o.Name] = v
	}
	res := promotion.StepResult{Output: outputs}
	if cfg.FailureExpression != "" {
		failed, err := promotion.EvalBool(cfg.FailureExpression, env)
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("failureExpression: %w", err))
		}
		if failed {
			res.Status, res.Message = promotion.StatusFailed, fmt.Sprintf("failureExpression matched (HTTP %d)", resp.StatusCode)
			if cfg.ErrorExpression != "" {
				// As Kargo: the message is best effort; a response not shaped as the
				// expression expects keeps the plain message.
				if v, err := evalExpr(cfg.ErrorExpression, env); err == nil {
					if m, ok := v.(string); ok && m != "" {
						res.Message += fmt.Sprintf(": %q", m)
					}
				}
			}
			return res, nil
		}
	}
	if cfg.SuccessExpression == "" {
		if cfg.FailureExpression == "" && (resp.StatusCode < 200 || resp.StatusCode > 299) {
			res.Status, res.Message = promotion.StatusFailed, fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return res, nil
	}
	ok, err := promotion.EvalBool(cfg.SuccessExpression, env)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("successExpression: %w", err))
	}
	if !ok {
		res.Status, res.Message = promotion.StatusRunning, fmt.Sprintf("waiting: successExpression not met (HTTP %d)", resp.StatusCode)
		res.RequeueAfter = 5 * time.Second
		if cfg.PollInterval != "" {
			res.RequeueAfter, _ = time.ParseDuration(cfg.PollInterval)
		}
	}
	return res, nil
}

// parseResponseBody is the body as expressions see it. Without a content type given,
// JSON that parses is an object, anything else a string; with one, the body must be
// of that type (Kargo's responseContentType).
func parseResponseBody(b []byte, contentType string) (any, error) {
	switch contentType {
	case "text/plain":
		return string(b), nil
	case "application/json":
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("the body is not JSON (responseContentType application/json): %w", err)
		}
		return v, nil
	case "application/yaml":
		if _, err := parseYAMLSafe(b, "the response body"); err != nil {
			return nil, err
		}
		var v any
		if err := sigsyaml.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("the body is not YAML (responseContentType application/yaml): %w", err)
		}
		return v, nil
	}
	var v any
	if json.Unmarshal(b, &v) == nil {
		return v, nil
	}
	return string(b), nil
}

// evalExpr evaluates a bare expression or a ${{ }} template.
func evalExpr(s string, env promotion.Env) (any, error) {
	if !strings.Contains(s, "${{") {
		s = "${{ " + s + " }}"
	}
	return promotion.EvalTemplate(s, env)
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("***")
	}
	c.RawQuery = ""
	return c.String()
}

// displayURL is raw as an error may quote it: without user info or query, even when
// raw does not parse (an unparsable "user:secret@host" still loses "user:secret").
func displayURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return redactURL(u)
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		raw = "***" + raw[i:]
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	return raw
}

// timedOut says err is the step's own timeout expiring (not the Promotion being
// aborted, which cancels ctx).
func timedOut(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
