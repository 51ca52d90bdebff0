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
	"sync"
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
	return StartRedisServer(t, RedisOptions{}).Addr
}

// StartRedisCluster is StartRedis for a one-node Redis Cluster that serves all
// 16384 slots: enough for a ClusterClient, and Redis still refuses a command
// whose keys span slots (CROSSSLOT), which is what tests need to check.
func StartRedisCluster(t testing.TB) (addr string) {
	t.Helper()
	return StartRedisClusterOf(t, 1)[0].Addr
}

// RedisOptions configure a redis-server started by StartRedisServer.
type RedisOptions struct {
	// AppendFsync is the AOF fsync policy: "always", "everysec" (redis-server's
	// default when empty) or "no".
	AppendFsync string
	// Cluster starts the server with cluster mode enabled (no slots assigned).
	Cluster bool
	// Args are more configuration arguments ("--replicaof", "127.0.0.1", "6380").
	Args []string
}

// RedisServer is a redis-server process owned by a test. Besides serving, it can
// be killed with SIGKILL, frozen with SIGSTOP and restarted on the same port and
// data directory, which is what the fault tests need.
type RedisServer struct {
	// Addr is the server's loopback host:port; it stays the same over restarts.
	Addr string
	// Dir holds its AOF, cluster config and log.
	Dir string

	t    testing.TB
	bin  string
	args []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// StartRedisServer starts a redis-server (AOF on, no RDB snapshots) on a free
// loopback port with its data in a temp dir, waits for PING, and stops it when
// the test ends. Without redis-server on PATH the test is skipped, or fails when
// POLKU_REQUIRE_REDIS=1.
func StartRedisServer(t testing.TB, o RedisOptions) *RedisServer {
	t.Helper()
	bin := redisBinary(t)
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
		r := &RedisServer{
			Addr: net.JoinHostPort("127.0.0.1", p), Dir: dir, t: t, bin: bin,
			log: filepath.Join(dir, "redis-"+p+".log"),
		}
		r.args = []string{
			"--port", p, "--bind", "127.0.0.1", "--dir", dir,
			"--appendonly", "yes", "--appendfilename", "appendonly-" + p + ".aof",
			"--save", "", "--logfile", r.log, "--daemonize", "no",
		}
		if o.AppendFsync != "" {
			r.args = append(r.args, "--appendfsync", o.AppendFsync)
		}
		if o.Cluster {
			r.args = append(r.args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+p+".conf")
		}
		r.args = append(r.args, o.Args...)
		if err := r.start(); err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		log, _ := os.ReadFile(r.log)
		lastLog = string(log)
	}
	t.Fatalf("testkit: redis-server did not answer PING; last log:\n%s", lastLog)
	return nil
}

func redisBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found on PATH (apt-get install redis-server)"
		if os.Getenv(RequireRedisEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, RequireRedisEnv)
		}
		t.Skipf("skipping: %s; set %s=1 to make this a failure", msg, RequireRedisEnv)
	}
	return bin
}

// start runs the process and waits until it answers PING (after loading its AOF).
func (r *RedisServer) start() error {
	return r.startWith(r.bin, r.args...)
}

func (r *RedisServer) startWith(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testkit: start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if !waitForPing(r.Addr, exited, 30*time.Second) {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("testkit: %s on %s did not answer PING", bin, r.Addr)
	}
	r.mu.Lock()
	r.cmd, r.exited, r.paused = cmd, exited, false
	r.mu.Unlock()
	return nil
}

// Kill ends the server with SIGKILL (no shutdown, no final fsync) and waits for it
// to be gone; what survives is what its AOF policy had already written.
func (r *RedisServer) Kill() {
	r.t.Helper()
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		r.t.Fatalf("testkit: Kill: redis %s is not running", r.Addr)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart starts the server again on the same port and data directory (it
// reloads its AOF) and waits until it answers PING.
func (r *RedisServer) Restart() {
	r.t.Helper()
	r.mu.Lock()
	running := r.cmd != nil
	r.mu.Unlock()
	if running {
		r.t.Fatalf("testkit: Restart: redis %s is still running", r.Addr)
	}
	if err := r.start(); err != nil {
		log, _ := os.ReadFile(r.log)
		r.t.Fatalf("%v; log:\n%s", err, log)
	}
}

// Pause freezes the process (SIGSTOP): connections stay open and the kernel
// still accepts new ones, but nothing answers, like a hung or partitioned node.
func (r *RedisServer) Pause() { r.signal(syscall.SIGSTOP, true) }

// Resume lets a paused server run again (SIGCONT).
func (r *RedisServer) Resume() { r.signal(syscall.SIGCONT, false) }

func (r *RedisServer) signal(sig syscall.Signal, paused bool) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		r.t.Fatalf("testkit: signal %v: redis %s is not running", sig, r.Addr)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("testkit: signal %v: %v", sig, err)
	}
	r.paused = paused
}

// Stop asks the server to exit (SIGTERM) and kills it if it has not after a
// while; a stopped or killed server is left alone. Tests get it as a cleanup.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	cmd, exited, paused := r.cmd, r.exited, r.paused
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		r.t.Logf("testkit: redis-server did not stop on SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Do sends one command on a new connection and returns a simple-string, bulk or
// integer reply as a string (a Redis error reply is the error).
func (r *RedisServer) Do(args ...string) (string, error) { return command(r.Addr, args...) }

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
// must be a simple string, an error, an integer or a bulk string (all the
// helpers need).
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
	case strings.HasPrefix(line, "+"), strings.HasPrefix(line, ":"):
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
