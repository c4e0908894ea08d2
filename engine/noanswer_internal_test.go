package engine

import (
	"net"
	"testing"
	"time"
)

// A server that accepts and says nothing is worded as a timeout, a closed
// or reset connection as no answer.
func TestNoAnswerWording(t *testing.T) {
	c, s := net.Pipe()
	defer s.Close()
	c.SetDeadline(time.Now().Add(time.Millisecond))
	_, got := parseMySQLGreeting(c)
	if want := "no MySQL greeting within " + probeTimeout.String(); got != want {
		t.Errorf("silent server: got %q, want %q", got, want)
	}
	c.Close()
	c, s = net.Pipe()
	s.Close()
	_, got = parseHTTP2Settings(c)
	if want := "no HTTP/2 answer: connection closed without an answer (nothing listening behind the published port yet)"; got != want {
		t.Errorf("closed connection: got %q, want %q", got, want)
	}
}
