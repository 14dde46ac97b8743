package promotion_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// startDNS serves A records for names (lower case, no trailing dot) on a local UDP
// port and points net.DefaultResolver at it for the rest of the test, so the code
// under test resolves names exactly as it would in a cluster. Other names and other
// record types get an empty NOERROR answer. It returns how many queries for a known
// name were answered.
func startDNS(t *testing.T, names map[string]netip.Addr) func() int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan struct{}, 1024)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			reply, hit, err := dnsReply(buf[:n], names)
			if err != nil {
				continue
			}
			if hit {
				select {
				case answered <- struct{}{}:
				default:
				}
			}
			_, _ = pc.WriteTo(reply, from)
		}
	}()
	old := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	t.Cleanup(func() {
		net.DefaultResolver = old
		_ = pc.Close()
	})
	return func() int { return len(answered) }
}

// dnsReply answers one query message; hit reports an A record was returned.
func dnsReply(q []byte, names map[string]netip.Addr) (reply []byte, hit bool, err error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, false, errors.New("not a single-question query")
	}
	// Read the question name.
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil, false, errors.New("truncated name")
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil, false, errors.New("bad label")
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil, false, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	addr, known := names[name]
	rcode := uint16(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	ancount := uint16(0)
	if known && qtype == 1 && addr.Is4() {
		ancount = 1
	}
	reply = make([]byte, 12, 12+len(question)+16)
	copy(reply[0:2], q[0:2])                             // ID
	binary.BigEndian.PutUint16(reply[2:4], 0x8180|rcode) // response, recursion desired+available
	binary.BigEndian.PutUint16(reply[4:6], 1)            // QDCOUNT
	binary.BigEndian.PutUint16(reply[6:8], ancount)      // ANCOUNT
	reply = append(reply, question...)
	if ancount == 1 {
		a := addr.As4()
		reply = append(reply, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4) // name ptr, A, IN, TTL 60, len 4
		reply = append(reply, a[:]...)
	}
	return reply, ancount == 1, nil
}
