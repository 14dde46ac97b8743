package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// op says what the CLI was doing when an API call failed, so the error can name it.
type op struct {
	verb      string // get, list, create, patch, delete, promote, ...
	kind      string // lower-case singular: stage
	resource  string // plural, as RBAC names it: stages
	name      string
	namespace string
	host      string
}

func (o op) what() string {
	if o.name != "" {
		return fmt.Sprintf("%s %q", o.kind, o.name)
	}
	return o.resource
}

func (o op) where() string {
	if o.namespace != "" {
		return fmt.Sprintf(" in project %q", o.namespace)
	}
	return ""
}

// translate turns an API error into one line that names the object and the cause,
// without the API machinery's noise.
func translate(err error, o op) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			var nerr *net.OpError
			if errors.As(err, &nerr) {
				return fmt.Errorf("cannot reach the API server at %s: %w", hostOf(uerr.URL, o.host), nerr.Err)
			}
			if uerr.Timeout() {
				return fmt.Errorf("the API server at %s did not answer in time", hostOf(uerr.URL, o.host))
			}
			return fmt.Errorf("talking to the API server at %s: %w", hostOf(uerr.URL, o.host), uerr.Err)
		}
		return err
	}
	st := status.Status()
	switch {
	case apierrors.IsNotFound(err):
		if o.kind == "" {
			return errors.New(st.Message)
		}
		if o.name == "" {
			return fmt.Errorf("%s not found%s", o.resource, o.where())
		}
		if o.namespace != "" && strings.Contains(st.Message, "namespaces \""+o.namespace+"\" not found") {
			return fmt.Errorf("project %q not found (its namespace does not exist)", o.namespace)
		}
		return fmt.Errorf("%s not found%s", o.what(), o.where())
	case apierrors.IsForbidden(err):
		verb := o.verb
		if verb == "" {
			verb = "access"
		}
		target := o.resource
		if o.name != "" {
			target = o.kind + " " + o.name
		}
		where := ""
		if o.namespace != "" {
			where = " in project " + o.namespace
		}
		return fmt.Errorf("you may not %s %s%s (needs verb %s on %s)", verb, target, where, verb, o.resource)
	case apierrors.IsUnauthorized(err):
		return errors.New("the API server did not accept your credentials: log in again or check your kubeconfig")
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("%s already exists%s", o.what(), o.where())
	case apierrors.IsConflict(err):
		return fmt.Errorf("%s was changed by someone else meanwhile; try again", o.what())
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return fmt.Errorf("%s is invalid: %s", o.what(), causes(st))
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return fmt.Errorf("the API server timed out while handling %s", o.what())
	}
	return fmt.Errorf("%s%s: %s", o.what(), o.where(), st.Message)
}

// causes lists "field: message" for each cause of an Invalid error.
func causes(st metav1.Status) string {
	if st.Details == nil || len(st.Details.Causes) == 0 {
		msg := st.Message
		// "Stage.haul.dev \"x\" is invalid: spec.foo: ..." → keep what follows "is invalid: ".
		if _, rest, ok := strings.Cut(msg, " is invalid: "); ok {
			return rest
		}
		return msg
	}
	var out []string
	for _, c := range st.Details.Causes {
		msg := schemaTypeNoise.ReplaceAllString(c.Message, "")
		msg = bareInvalid.ReplaceAllString(msg, "$1")
		if c.Field != "" && c.Field != "<nil>" {
			// The message often repeats the field; keep it once.
			msg = strings.TrimPrefix(msg, c.Field+": ")
			out = append(out, c.Field+": "+msg)
		} else {
			out = append(out, msg)
		}
	}
	return strings.Join(out, "; ")
}

// schemaTypeNoise is the type name CEL errors report instead of a value.
var schemaTypeNoise = regexp.MustCompile(`^Invalid value: "(object|array|string|integer|number|boolean)": `)

// bareInvalid is "Invalid value: " followed by a message rather than a quoted value.
var bareInvalid = regexp.MustCompile(`^Invalid value: ([^"])`)

func hostOf(u, fallback string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Scheme + "://" + p.Host
	}
	return fallback
}

// opFor builds an op for a Haul kind.
func opFor(verb string, k *kind, name, namespace string) op {
	return op{verb: verb, kind: k.Singular, resource: k.Resource, name: name, namespace: namespace}
}
