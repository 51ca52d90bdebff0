package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/telemetry"
)

type acceptAll struct{}

func (acceptAll) Verify(context.Context, string) (auth.Principal, error) {
	return auth.Principal{Subject: "w-1", Role: auth.RoleWorker, Region: "r"}, nil
}

// slowServer runs the gateway's real http.Server on loopback with short
// timeouts. Its backends are never reached: the tests are about the edge.
func slowServer(t *testing.T, to Timeouts) string {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: Name})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	for _, s := range Services() {
		targets[s] = "127.0.0.1:1"
	}
	g, err := New(context.Background(), Config{Targets: targets, MaxBodyBytes: 1 << 20, Timeouts: to}, acceptAll{}, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := g.Server(lis.Addr().String())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().String()
}

// trickle writes head, then s one byte per interval, until the server closes
// the connection or s runs out. It returns how long the connection lasted and
// whether the server closed it (rather than the test giving up at limit).
func trickle(t *testing.T, addr, head, s string, interval, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_ = conn.SetReadDeadline(start.Add(limit))
		_, err := io.Copy(io.Discard, conn) // nil when the server closes; a timeout at limit
		readErr <- err
	}()
	for i := 0; i < len(s); i++ {
		select {
		case err := <-readErr:
			return time.Since(start), !errors.Is(err, os.ErrDeadlineExceeded)
		case <-time.After(interval):
		}
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return time.Since(start), true // the server has closed the connection
		}
	}
	err = <-readErr
	return time.Since(start), !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestSlowClientsAreDisconnected(t *testing.T) {
	to := Timeouts{ReadHeader: 300 * time.Millisecond, Read: 800 * time.Millisecond, Write: 2 * time.Second, Idle: 500 * time.Millisecond}
	addr := slowServer(t, to)
	const limit = 5 * time.Second // the test gives up here; every timeout is far shorter

	t.Run("headers trickled", func(t *testing.T) {
		took, closed := trickle(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n", strings.Repeat("X-Slow: 1\r\n", 100), 50*time.Millisecond, limit)
		if !closed || took > to.ReadHeader+time.Second {
			t.Errorf("the server kept a header trickle for %v (closed=%v); want it closed after ReadHeader %v", took, closed, to.ReadHeader)
		}
	})
	t.Run("body trickled", func(t *testing.T) {
		body := `{"given_name":"` + strings.Repeat("x", 200) + `"}`
		head := fmt.Sprintf("POST /v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		took, closed := trickle(t, addr, head, body, 20*time.Millisecond, limit)
		if !closed || took > to.Read+time.Second {
			t.Errorf("the server kept a body trickle for %v (closed=%v); want it closed after Read %v", took, closed, to.Read)
		}
	})
	t.Run("chunked body trickled", func(t *testing.T) {
		head := "POST /v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		took, closed := trickle(t, addr, head, strings.Repeat("1\r\nx\r\n", 200), 20*time.Millisecond, limit)
		if !closed || took > to.Read+time.Second {
			t.Errorf("the server kept a chunked trickle for %v (closed=%v); want it closed after Read %v", took, closed, to.Read)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(conn)
		resp, err := http.ReadResponse(rd, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("first request: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = conn.SetReadDeadline(start.Add(limit))
		_, err = rd.ReadByte() // nothing more is coming: wait for the server to hang up
		if took := time.Since(start); !errors.Is(err, io.EOF) || took > to.Idle+time.Second {
			t.Errorf("idle connection: read %v after %v; want EOF after Idle %v", err, took, to.Idle)
		}
	})
	// A client that is merely slow but within the limits is served.
	t.Run("slow but in time", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, part := range []string{"GET /healthz HTTP/1.1\r\n", "Host: x\r\n", "\r\n"} {
			time.Sleep(50 * time.Millisecond)
			if _, err := io.WriteString(conn, part); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("slow but in time: %v %v; want 200", resp, err)
		}
	})
}

func TestTimeoutsConfig(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want Timeouts
	}{
		{nil, DefaultTimeouts},
		{map[string]string{"POLKU_GATEWAY_READ_HEADER_TIMEOUT": "2s", "POLKU_GATEWAY_READ_TIMEOUT": "10s",
			"POLKU_GATEWAY_WRITE_TIMEOUT": "20s", "POLKU_GATEWAY_IDLE_TIMEOUT": "1m"},
			Timeouts{ReadHeader: 2 * time.Second, Read: 10 * time.Second, Write: 20 * time.Second, Idle: time.Minute}},
		{map[string]string{"POLKU_GATEWAY_READ_TIMEOUT": "0s"}, DefaultTimeouts}, // never without a timeout
	}
	for _, tc := range tests {
		cfg := LoadConfig(config.FromMap(tc.env))
		if got := cfg.Timeouts.orDefaults(); got != tc.want {
			t.Errorf("env %v: timeouts %+v; want %+v", tc.env, got, tc.want)
		}
	}
}
