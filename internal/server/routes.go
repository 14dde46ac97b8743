package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/haul-dev/haul/internal/server/auth"
)

// apiHandler serves one route for an authenticated user and returns the status and
// body to send, or an error that becomes the JSON error body.
type apiHandler func(r *http.Request, u *auth.User) (int, any, error)

func (s *Server) routes() {
	s.authn.Register(s.mux)
	h := func(pattern string, fn apiHandler) { s.mux.Handle(pattern, s.api(fn)) }

	h("GET /api/v1/whoami", s.whoami)
	h("GET /api/v1/projects", s.listProjects)
	h("GET /api/v1/projects/{p}", s.getProject)
	h("GET /api/v1/projects/{p}/projectconfig", s.getProjectConfig)
	h("GET /api/v1/projects/{p}/permissions", s.permissions)
	h("GET /api/v1/projects/{p}/warehouses", s.listWarehouses)
	h("GET /api/v1/projects/{p}/warehouses/{name}", s.getWarehouse)
	h("GET /api/v1/projects/{p}/stages", s.listStages)
	h("GET /api/v1/projects/{p}/stages/{name}", s.getStage)
	h("GET /api/v1/projects/{p}/freight", s.listFreight)
	h("GET /api/v1/projects/{p}/freight/{name}", s.getFreight)
	h("GET /api/v1/projects/{p}/promotions", s.listPromotions)
	h("GET /api/v1/projects/{p}/promotions/{name}", s.getPromotion)

	h("POST /api/v1/projects/{p}/stages/{name}/promote", s.promote)
	h("POST /api/v1/projects/{p}/stages/{name}/promote-downstream", s.promoteDownstream)
	h("POST /api/v1/projects/{p}/freight/{name}/approve", s.approve)
	h("PATCH /api/v1/projects/{p}/freight/{name}/alias", s.setAlias)
	h("POST /api/v1/projects/{p}/promotions/{name}/abort", s.abortPromotion)
	h("POST /api/v1/projects/{p}/promotions/{name}/respond", s.respondToPromotion)
	h("POST /api/v1/projects/{p}/warehouses/{name}/refresh", s.refreshWarehouse)
	h("POST /api/v1/projects/{p}/stages/{name}/refresh", s.refreshStage)
	h("POST /api/v1/projects/{p}/stages/{name}/reverify", s.reverify)
	h("POST /api/v1/projects/{p}/stages/{name}/abort-verification", s.abortVerification)
	h("POST /api/v1/projects/{p}/stages/{name}/pause", s.pauseStage)
	h("POST /api/v1/projects/{p}/stages/{name}/resume", s.resumeStage)
	h("POST /api/v1/apply", s.apply)

	s.mux.Handle("GET /api/v1/projects/{p}/events", s.authenticated(s.events))
	h("/api/", func(r *http.Request, _ *auth.User) (int, any, error) {
		return 0, nil, errorf(http.StatusNotFound, reasonNotFound, "no API route %s %s", r.Method, r.URL.Path)
	})
}

// authenticated identifies the caller, rejects anonymous requests and cross-site
// writes riding on the session cookie, and passes the user on in the context.
func (s *Server) authenticated(next func(http.ResponseWriter, *http.Request, *auth.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authn.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="haul"`)
			writeError(w, errorf(http.StatusUnauthorized, reasonUnauthorized, "%s", err.Error()))
			return
		}
		if err := s.checkCSRF(r); err != nil {
			writeError(w, err)
			return
		}
		next(w, r.WithContext(auth.WithUser(r.Context(), u)), u)
	})
}

// api adapts an apiHandler.
func (s *Server) api(fn apiHandler) http.Handler {
	return s.authenticated(func(w http.ResponseWriter, r *http.Request, u *auth.User) {
		code, body, err := fn(r, u)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code >= 500 {
				s.log.Error(err, "API request failed", "method", r.Method, "path", r.URL.Path, "user", u.Name)
			}
			writeError(w, err)
			return
		}
		writeJSONFor(w, r, code, body)
	})
}

// checkCSRF refuses state-changing requests authenticated by cookie that come from
// another origin. Bearer-token requests cannot be forged by a browser.
func (s *Server) checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errorf(http.StatusForbidden, reasonForbidden, "cross-site request refused")
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	if o == s.origin || o == "http://"+r.Host || o == "https://"+r.Host {
		return nil
	}
	return errorf(http.StatusForbidden, reasonForbidden, "request from origin %q refused", o)
}

func (s *Server) whoami(_ *http.Request, u *auth.User) (int, any, error) {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return http.StatusOK, map[string]any{"username": u.Name, "groups": groups}, nil
}

// decodeBody reads a small JSON body into v, naming the problem when it does not parse.
// ServeHTTP has capped the body (Limits.MaxBodyBytes).
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError("request body", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("request body is not valid JSON: %s", err.Error())
	}
	return nil
}

// required names a missing body field.
func required(field, value string) error {
	if value == "" {
		return errorf(http.StatusUnprocessableEntity, reasonInvalid, "%s", fmt.Sprintf("body field %q is required", field))
	}
	return nil
}
