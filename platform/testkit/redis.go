// Package testkit holds helpers shared by the platform's tests.
package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireRedisEnv names the environment variable that turns a missing
// redis-server from a skip into a failure (CI sets it to 1).
const RequireRedisEnv = "POLKU_REQUIRE_REDIS"

// StartRedis starts a private redis-server on a free loopback port, with its data
// (AOF on, no RDB snapshots) in a temporary directory, waits until it answers
// PING, and stops it when the test ends. It returns the server's host:port.
//
// Without redis-server on PATH the test is skipped, or fails when
// POLKU_REQUIRE_REDIS=1.
func StartRedis(t testing.TB) (addr string) {
	t.Helper()
	return startRedis(t, false)
}

// StartRedisCluster is StartRedis for a one-node Redis Cluster that serves all
// 16384 slots: enough for a ClusterClient, and Redis still refuses a command
// whose keys span slots (CROSSSLOT), which is what tests need to check.
func StartRedisCluster(t testing.TB) (addr string) {
	t.Helper()
	addr = startRedis(t, true)
	if _, err := command(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
		t.Fatalf("testkit: assign cluster slots: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := command(addr, "CLUSTER", "INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: cluster not ok: %q, %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startRedis(t testing.TB, cluster bool) (addr string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found on PATH (apt-get install redis-server)"
		if os.Getenv(RequireRedisEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, RequireRedisEnv)
		}
		t.Skipf("skipping: %s; set %s=1 to make this a failure", msg, RequireRedisEnv)
	}
	dir := t.TempDir()
	// The port is found free and then handed to redis-server, so another process
	// can take it in between; a few attempts make that race harmless.
	var lastLog string
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testkit: find a free port: %v", err)
		}
		p := strconv.Itoa(port)
		addr = net.JoinHostPort("127.0.0.1", p)
		logPath := filepath.Join(dir, "redis-"+p+".log")
		args := []string{
			"--port", p, "--bind", "127.0.0.1", "--dir", dir,
			"--appendonly", "yes", "--appendfilename", "appendonly-" + p + ".aof",
			"--save", "", "--logfile", logPath, "--daemonize", "no",
		}
		if cluster {
			args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+p+".conf")
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("testkit: start redis-server: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if waitForPing(addr, exited, 10*time.Second) {
			t.Cleanup(func() { stop(t, cmd, exited) })
			return addr
		}
		stop(t, cmd, exited)
		log, _ := os.ReadFile(logPath)
		lastLog = string(log)
	}
	t.Fatalf("testkit: redis-server did not answer PING; last log:\n%s", lastLog)
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitForPing polls addr until it answers +PONG, the process exits, or timeout.
func waitForPing(addr string, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if ping(addr) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func ping(addr string) bool {
	reply, err := command(addr, "PING")
	return err == nil && reply == "PONG"
}

// command sends one command on a new connection and returns the reply, which
// must be a simple string, an error or a bulk string (all the helpers need).
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		req += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// stop asks redis-server to exit (SIGTERM) and kills it if it has not after a while.
func stop(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Logf("testkit: redis-server did not stop on SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}
