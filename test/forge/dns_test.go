package forge

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// resolveLocally answers A queries for names (lower case, no trailing dot) from a
// local UDP server and points net.DefaultResolver at it for the rest of the test.
// Other names and record types get an empty answer. git resolves *.localhost to
// loopback itself (libcurl); Go does not, so names such as gitea.localhost need this
// for the forge clients, which run in the test process.
func resolveLocally(t *testing.T, names map[string]netip.Addr) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply, err := answer(buf[:n], names); err == nil {
				_, _ = pc.WriteTo(reply, from)
			}
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
}

// answer builds the reply to one DNS query message (RFC 1035 §4.1).
func answer(q []byte, names map[string]netip.Addr) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, errors.New("not a single-question query")
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	end := i + 4
	addr, ok := names[strings.ToLower(strings.Join(labels, "."))]
	hit := ok && qtype == 1 && addr.Is4()
	reply := append([]byte(nil), q[:end]...)
	reply[2] = 0x84 | (q[2] & 0x01) // response, authoritative, copy RD
	reply[3] = 0                    // NOERROR
	binary.BigEndian.PutUint16(reply[6:8], 0)
	binary.BigEndian.PutUint16(reply[8:10], 0)
	binary.BigEndian.PutUint16(reply[10:12], 0)
	if hit {
		binary.BigEndian.PutUint16(reply[6:8], 1)
		ip := addr.As4()
		// Name pointer to the question, type A, class IN, TTL 60, 4 bytes of address.
		reply = append(reply, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		reply = append(reply, ip[:]...)
	}
	return reply, nil
}
