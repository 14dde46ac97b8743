package promotion_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// TestAddressPolicyRefusesLinkLocalInEveryForm judges addresses the way the dialer
// hands them over: zoned, IPv4-mapped and IPv4-carrying IPv6 forms of link-local and
// metadata addresses are refused like the plain ones; private and loopback ones only
// when the deny-private option is on.
func TestAddressPolicyRefusesLinkLocalInEveryForm(t *testing.T) {
	cases := []struct {
		addr        string
		refused     bool // by the default policy
		refusedDeny bool // with DenyPrivate
		reason      string
	}{
		{"169.254.169.254", true, true, "link-local"},
		{"169.254.0.1", true, true, "link-local"},
		{"fe80::1", true, true, "link-local"},
		{"fe80::1%lo", true, true, "link-local"},
		{"fe80::a9fe:a9fe%eth0", true, true, "link-local"},
		{"febf::1", true, true, "link-local"},
		{"::ffff:169.254.169.254", true, true, "link-local"},
		{"::ffff:a9fe:a9fe", true, true, "link-local"},
		{"64:ff9b::169.254.169.254", true, true, "carries 169.254.169.254"},
		{"2002:a9fe:a9fe::1", true, true, "carries 169.254.169.254"},
		{"::169.254.169.254", true, true, "carries 169.254.169.254"},
		{"fd00:ec2::254", true, true, "metadata"},
		{"100.100.100.200", true, true, "metadata"},
		{"0.0.0.0", true, true, "unspecified"},
		{"::", true, true, "unspecified"},
		{"224.0.0.1", true, true, "multicast"},
		{"ff02::1%lo", true, true, "multicast"},

		{"127.0.0.1", false, true, "loopback"},
		{"127.1.2.3", false, true, "loopback"},
		{"::1", false, true, "loopback"},
		{"::ffff:127.0.0.1", false, true, "loopback"},
		{"64:ff9b::127.0.0.1", false, true, "carries 127.0.0.1"},
		{"10.1.2.3", false, true, "private"},
		{"::ffff:10.1.2.3", false, true, "private"},
		{"172.16.0.1", false, true, "private"},
		{"192.168.1.1", false, true, "private"},
		{"fd12:3456::1", false, true, "private"},
		{"100.64.0.1", false, true, "carrier-grade NAT"},

		{"93.184.216.34", false, false, ""},
		{"2606:4700::1111", false, false, ""},
		{"::ffff:93.184.216.34", false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			for _, p := range []struct {
				policy promotion.AddressPolicy
				want   bool
			}{{promotion.AddressPolicy{}, tc.refused}, {promotion.AddressPolicy{DenyPrivate: true}, tc.refusedDeny}} {
				err := p.policy.Check(ip)
				if !p.want {
					if err != nil {
						t.Fatalf("DenyPrivate=%v: refused: %v", p.policy.DenyPrivate, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("DenyPrivate=%v: %s was allowed", p.policy.DenyPrivate, tc.addr)
				}
				if !errors.Is(err, promotion.ErrForbiddenAddress) || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), ip.String()) {
					t.Fatalf("DenyPrivate=%v: error %q should match ErrForbiddenAddress, name %s and say %q", p.policy.DenyPrivate, err, ip, tc.reason)
				}
			}
		})
	}
}

// runHTTPWith runs one http step with the given address policy.
func runHTTPWith(t *testing.T, policy promotion.AddressPolicy, cfg map[string]any) (promotion.Result, promotion.State) {
	t.Helper()
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{HTTPClient: policy.Client}}
	return e.Run(context.Background(), promotion.Request{
		Project: "p", Stage: "s", Promotion: "pr", Freight: freight("1"), WorkDir: t.TempDir(),
		Steps: []haulv1.PromotionStep{step("http", "h", cfg)},
	})
}

// TestHTTPStepRefusesZonedAndMappedLinkLocal drives the attack through the engine: the
// http step is pointed at link-local addresses written with a zone ID or as IPv4-mapped
// IPv6, directly and through a redirect from an allowed server, and must refuse them
// before connecting, naming the URL.
func TestHTTPStepRefusesZonedAndMappedLinkLocal(t *testing.T) {
	targets := []string{
		"http://[fe80::1%25lo]/latest/meta-data/",
		"http://[fe80::1%25lo]:8080/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/",
	}
	for _, target := range targets {
		t.Run("direct "+target, func(t *testing.T) {
			res, _ := runHTTPWith(t, promotion.AddressPolicy{}, map[string]any{"url": target, "timeout": "3s"})
			mustFail(t, res, "not allowed")
			u, _ := url.Parse(target)
			if !strings.Contains(res.Message, u.String()) {
				t.Fatalf("message %q does not name the url %s", res.Message, u)
			}
		})
		t.Run("redirect to "+target, func(t *testing.T) {
			redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusFound)
			}))
			defer redirect.Close()
			res, _ := runHTTPWith(t, promotion.AddressPolicy{}, map[string]any{"url": redirect.URL + "/start", "timeout": "3s"})
			mustFail(t, res, "not allowed", redirect.URL+"/start")
		})
	}
}

// TestHTTPStepDenyPrivateRefusesLoopbackAndPrivate: with the deny-private option the
// step refuses a real server on 127.0.0.1 (also written as IPv4-mapped IPv6) and
// private ranges; without it the same server answers.
func TestHTTPStepDenyPrivateRefusesLoopbackAndPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	su, _ := url.Parse(srv.URL)
	port := su.Port()
	deny := promotion.AddressPolicy{DenyPrivate: true}
	for _, target := range []string{
		srv.URL + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://10.0.0.1:" + port + "/",
		"http://192.168.0.1:" + port + "/",
		"http://[::1]:" + port + "/",
	} {
		t.Run(target, func(t *testing.T) {
			res, _ := runHTTPWith(t, deny, map[string]any{"url": target, "timeout": "3s"})
			mustFail(t, res, "not allowed", target, "--deny-private-http")
		})
	}
	res, _ := runHTTPWith(t, promotion.AddressPolicy{}, map[string]any{"url": srv.URL + "/"})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("without deny-private, 127.0.0.1 should be allowed: %s: %s", res.Phase, res.Message)
	}
	res, _ = runHTTPWith(t, promotion.AddressPolicy{}, map[string]any{"url": "http://[::ffff:127.0.0.1]:" + port + "/"})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("without deny-private, ::ffff:127.0.0.1 should be allowed: %s: %s", res.Phase, res.Message)
	}
}
