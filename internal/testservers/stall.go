package testservers

import (
	"net"
	"time"
)

// StallingServer accepts TCP connections on 127.0.0.1, writes one byte and then goes
// silent for a minute: a remote that hangs without refusing. It returns the address
// (host:port) and a func that stops accepting.
func StallingServer() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = c.Write([]byte("H"))
				time.Sleep(time.Minute)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String(), func() { _ = ln.Close() }, nil
}
