package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/polku-hb/polku/platform/auth"
	assessmentsvc "github.com/polku-hb/polku/services/assessment/service"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	cataloguesvc "github.com/polku-hb/polku/services/catalogue/service"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// SplitProcesses are the binaries of the split deployment, in start order
// (each service's peers are dialled lazily, so the order only matters for
// the log), the gateway last.
var SplitProcesses = []string{"clients", "catalogue", "assessment", "budget", "referral", "gateway"}

// SplitRun is the Redis volume served by the production shape: the five
// service binaries and the gateway as six processes over the seeded Redis.
type SplitRun struct {
	Results   []Result     `json:"results"`
	Processes []ProcessRSS `json:"processes"`
	TotalRSS  ServerRSS    `json:"total"`
}

// ProcessRSS is one process's memory right after it was ready over the
// seeded data, and after every scenario ran against the split deployment.
type ProcessRSS struct {
	Name    string `json:"name"`
	AtStart Memory `json:"at_start"`
	AtEnd   Memory `json:"after_load"`
}

// BuildServices builds the six binaries of the split deployment into dir
// with the go command, from the workspace this process runs in (go env
// GOWORK): for `go run ./cmd/polku bench` and the tests; -bin names
// binaries built beforehand.
func BuildServices(ctx context.Context, dir string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOWORK").Output()
	gowork := strings.TrimSpace(string(out))
	if err != nil || gowork == "" || gowork == "off" {
		return fmt.Errorf("building the service binaries needs the Polku workspace (go env GOWORK: %q, %v); pass -bin DIR or -split=false", gowork, err)
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, n := range SplitProcesses {
		if n == "gateway" {
			args = append(args, "./gateway/cmd/gateway")
		} else {
			args = append(args, "./services/"+n+"/cmd/"+n)
		}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Dir(gowork)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of the service binaries: %v\n%s", err, b)
	}
	return nil
}

// splitDeployment is the six running processes.
type splitDeployment struct {
	names []string
	cmds  []*exec.Cmd
	done  []chan error
	ready Ready
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startSplit starts the six binaries of binDir over the Redis at redisAddr,
// configured through the environment exactly as in production (see
// docs/configuration.md): JWT verification with the dev public key, the
// catalogue's provider tokens signed with the dev key, the clients service
// sealing identity codes with picKey (the key the seeding used), the
// referral service's SERVICE token in a file. It returns once every service
// answers SERVING on gRPC health and the gateway on /healthz.
func startSplit(ctx context.Context, binDir, dir, redisAddr, picKey string, issuer *auth.DevIssuer, log io.Writer) (*splitDeployment, error) {
	pub := filepath.Join(dir, "dev-public-key.pem")
	if err := os.WriteFile(pub, issuer.PublicKeyPEM(), 0o600); err != nil {
		return nil, err
	}
	tok, err := issuer.Issue(auth.Principal{Subject: "svc-referral", Role: auth.RoleService}, auth.DevIssuerName, auth.DevAudience, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	tokFile := filepath.Join(dir, "referral-service-token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for _, n := range SplitProcesses {
		if addrs[n], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	// Nothing of the caller's own POLKU_ configuration leaks in.
	base := slices.DeleteFunc(slices.Clone(os.Environ()), func(kv string) bool { return strings.HasPrefix(kv, "POLKU_") })
	base = append(base,
		"POLKU_STORE=redis", "POLKU_REDIS_ADDRS="+redisAddr,
		"POLKU_JWT_ISSUER="+auth.DevIssuerName, "POLKU_JWT_AUDIENCE="+auth.DevAudience, "POLKU_JWT_PUBLIC_KEY_FILE="+pub,
		"POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE="+pub,
		"POLKU_LOG_LEVEL=warn", "POLKU_SHUTDOWN_DRAIN=0s")
	for _, n := range SplitProcesses {
		if n != "gateway" {
			base = append(base, "POLKU_"+strings.ToUpper(n)+"_TARGET="+addrs[n])
		}
	}
	own := map[string][]string{
		"clients": {"POLKU_PIC_KEY=" + picKey, "POLKU_TIMELINE_SOURCES=" + strings.Join([]string{
			fmt.Sprintf("%s:%d", cataloguesvc.Namespace, cataloguesvc.Shards),
			fmt.Sprintf("%s:%d", assessmentsvc.Namespace, assessmentsvc.Shards),
			fmt.Sprintf("%s:%d", budgetsvc.Namespace, budgetsvc.Shards),
			fmt.Sprintf("%s:%d", referralsvc.Namespace, referralsvc.Shards)}, ",")},
		"catalogue": {"POLKU_CATALOGUE_TOKEN_KEY_FILE=" + filepath.Join(dir, auth.DevKeyFile)},
		"referral":  {"POLKU_REFERRAL_SERVICE_TOKEN_FILE=" + tokFile, "POLKU_REFERRAL_WEBHOOK_ALLOW_LOOPBACK_HTTP=true"},
	}
	d := &splitDeployment{ready: Ready{GatewayURL: "http://" + addrs["gateway"], GRPCAddrs: map[string]string{}}}
	for _, n := range SplitProcesses {
		cmd := exec.Command(filepath.Join(binDir, n))
		cmd.Env = append(append(slices.Clone(base), "POLKU_"+strings.ToUpper(n)+"_ADDR="+addrs[n]), own[n]...)
		cmd.Stdout = io.Discard // JSON logs at warn
		cmd.Stderr = log
		if err := cmd.Start(); err != nil {
			d.stop()
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		d.names, d.cmds, d.done = append(d.names, n), append(d.cmds, cmd), append(d.done, done)
		if n != "gateway" {
			d.ready.GRPCAddrs[n] = addrs[n]
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i, n := range d.names {
		for {
			select {
			case err := <-d.done[i]:
				d.done[i] <- err
				d.stop()
				return nil, fmt.Errorf("%s exited before it was ready: %v", n, err)
			default:
			}
			if splitReady(ctx, n, addrs[n]) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				d.stop()
				return nil, fmt.Errorf("%s not ready in 2 minutes", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d, nil
}

// splitReady asks a service's gRPC health (readiness: its store answers) or
// the gateway's /healthz.
func splitReady(ctx context.Context, name, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if name == "gateway" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer conn.Close()
	r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// memory reads every process's RSS.
func (d *splitDeployment) memory() ([]Memory, error) {
	var out []Memory
	var errs []error
	for i, c := range d.cmds {
		m, err := procMemory(c.Process.Pid)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.names[i], err))
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// stop sends SIGTERM to every process, the gateway first, and waits; after
// 30 s a process is killed.
func (d *splitDeployment) stop() error {
	var errs []error
	for i := len(d.cmds) - 1; i >= 0; i-- {
		_ = d.cmds[i].Process.Signal(os.Interrupt)
	}
	for i := len(d.cmds) - 1; i >= 0; i-- {
		select {
		case err := <-d.done[i]:
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.names[i], err))
			}
		case <-time.After(30 * time.Second):
			_ = d.cmds[i].Process.Kill()
			errs = append(errs, fmt.Errorf("%s did not stop in 30 s; killed: %v", d.names[i], <-d.done[i]))
		}
	}
	return errors.Join(errs...)
}
