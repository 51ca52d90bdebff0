// Package boot holds what every Polku service binary reads and opens the same way
// at start: the common configuration (store, tokens, logging), the store
// namespaces and the token verifier. A service adds its own settings beside it.
package boot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/store/redisstore"
)

// Common is the configuration every service shares. Each field names its
// environment variable and default in docs/configuration.md.
type Common struct {
	// Store is "embedded" (one file under DataDir) or "redis".
	Store string
	// DataDir holds the embedded store file and dev keys.
	DataDir string
	// RedisAddrs: one address is a single node (or a proxy); several are a Redis
	// Cluster, unless RedisMasterName is set: then they are Sentinels.
	RedisAddrs      []string
	RedisMasterName string
	RedisUsername   string
	RedisPassword   string
	// RedisWaitReplicas > 0 makes every store commit wait until that many
	// replicas have it (at most RedisWaitTimeout) and fail when they do not:
	// for Sentinel deployments where an acknowledged write must survive a
	// failover. Not for Redis Cluster.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// Token verification: exactly one of JWKSURL (production) and
	// JWTPublicKeyFile (PEM; development) is used.
	JWTIssuer        string
	JWTAudience      string
	JWKSURL          string
	JWTPublicKeyFile string
	// Provider tokens (the catalogue's OAuth client-credentials exchange):
	// when ProviderTokenPublicKeyFile is set, tokens whose iss is
	// ProviderTokenIssuer are trusted too, verified with that key, and only as
	// PROVIDER tokens.
	ProviderTokenIssuer        string
	ProviderTokenPublicKeyFile string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// MetricsAddr, when set, serves Prometheus /metrics there (":9090").
	MetricsAddr string
	// ShutdownDrain is how long a stopping service stays up after turning
	// unready, so traffic moves away before it stops accepting calls.
	ShutdownDrain time.Duration
	// EventsRetention is how long acknowledged events stay in a service's
	// stream before TrimEvents removes them (0 = keep them all).
	EventsRetention time.Duration
	// TokenCacheTTL is how long a verified bearer token is remembered
	// (auth.CachedVerifier; 0 = verify every call).
	TokenCacheTTL time.Duration
}

// DefaultTokenCacheTTL: a minute saves the signature check on all but the
// first call of a user's burst, and bounds how long a withdrawn signing key
// still works.
const DefaultTokenCacheTTL = time.Minute

// tokenCacheSize bounds the verified-token cache (~200 bytes an entry).
const tokenCacheSize = 10_000

// DefaultEventsRetention keeps a week of events: room to replay into a new
// consumer or to look into an incident, while the streams stop growing.
const DefaultEventsRetention = 7 * 24 * time.Hour

// LoadCommon reads the common settings.
func LoadCommon(e *config.Env) Common {
	c := Common{
		Store:                      e.String("POLKU_STORE", "embedded"),
		DataDir:                    e.String("POLKU_DATA_DIR", ".data"),
		RedisMasterName:            e.String("POLKU_REDIS_MASTER_NAME", ""),
		RedisUsername:              e.String("POLKU_REDIS_USERNAME", ""),
		RedisPassword:              e.String("POLKU_REDIS_PASSWORD", ""),
		RedisWaitReplicas:          e.Int("POLKU_REDIS_WAIT_REPLICAS", 0),
		RedisWaitTimeout:           e.Duration("POLKU_REDIS_WAIT_TIMEOUT", time.Second),
		JWTIssuer:                  e.String("POLKU_JWT_ISSUER", auth.DevIssuerName),
		JWTAudience:                e.String("POLKU_JWT_AUDIENCE", auth.DevAudience),
		JWKSURL:                    e.String("POLKU_JWKS_URL", ""),
		JWTPublicKeyFile:           e.String("POLKU_JWT_PUBLIC_KEY_FILE", ""),
		ProviderTokenIssuer:        e.String("POLKU_PROVIDER_TOKEN_ISSUER", DefaultProviderTokenIssuer),
		ProviderTokenPublicKeyFile: e.String("POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE", ""),
		LogLevel:                   e.String("POLKU_LOG_LEVEL", "info"),
		MetricsAddr:                e.String("POLKU_METRICS_ADDR", ""),
		ShutdownDrain:              e.Duration("POLKU_SHUTDOWN_DRAIN", 5*time.Second),
		EventsRetention:            e.Duration("POLKU_EVENTS_RETENTION", DefaultEventsRetention),
		TokenCacheTTL:              e.Duration("POLKU_TOKEN_CACHE_TTL", DefaultTokenCacheTTL),
	}
	for _, a := range strings.Split(e.String("POLKU_REDIS_ADDRS", "127.0.0.1:6379"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.RedisAddrs = append(c.RedisAddrs, a)
		}
	}
	if c.TokenCacheTTL < 0 {
		e.Fail(fmt.Errorf("POLKU_TOKEN_CACHE_TTL: %s must not be negative (0 turns the cache off)", c.TokenCacheTTL))
	}
	if c.EventsRetention < 0 {
		e.Fail(fmt.Errorf("POLKU_EVENTS_RETENTION: %s must not be negative (0 keeps every event)", c.EventsRetention))
	}
	if c.Store != "embedded" && c.Store != "redis" {
		e.Fail(fmt.Errorf("POLKU_STORE: %q must be embedded or redis", c.Store))
	}
	if c.RedisWaitReplicas > 0 && len(c.RedisAddrs) > 1 && c.RedisMasterName == "" {
		// WAIT must run on the connection of the batch, which a Cluster
		// client's pipeline does not guarantee for a command without keys.
		e.Fail(errors.New("POLKU_REDIS_WAIT_REPLICAS: not supported on Redis Cluster (several POLKU_REDIS_ADDRS without POLKU_REDIS_MASTER_NAME)"))
	}
	return c
}

// Stores opens namespaces of one configured backend.
type Stores struct {
	redis     redis.UniversalClient
	redisOpts []redisstore.Option
	db        *embedded.DB
}

// OpenStores connects to Redis or opens the embedded file.
func OpenStores(c Common) (*Stores, error) {
	if c.Store == "redis" {
		rc := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:      c.RedisAddrs,
			MasterName: c.RedisMasterName,
			Username:   c.RedisUsername,
			Password:   c.RedisPassword,
			// Fail fast so callers get UNAVAILABLE within their deadline.
			DialTimeout:  2 * time.Second,
			ReadTimeout:  3 * time.Second,
			WriteTimeout: 3 * time.Second,
			// No client-side retries: go-redis re-sends a command whose reply
			// timed out, and a batch script that did commit would then run twice
			// (an index- or event-only batch applied twice, a checked batch
			// reported as a conflict although it committed). A failed call
			// surfaces as UNAVAILABLE and the caller retries with its request id.
			MaxRetries: -1,
		})
		st := &Stores{redis: rc}
		if c.RedisWaitReplicas > 0 {
			st.redisOpts = append(st.redisOpts, redisstore.WithWaitReplicas(c.RedisWaitReplicas, c.RedisWaitTimeout))
		}
		return st, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := embedded.Open(filepath.Join(c.DataDir, "polku.db"))
	if err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	return &Stores{db: db}, nil
}

// EmbeddedStores wraps an already open embedded file (the all-in-one shares one).
func EmbeddedStores(db *embedded.DB) *Stores { return &Stores{db: db} }

// RedisStores wraps a Redis client (tests, the all-in-one on Redis).
func RedisStores(rc redis.UniversalClient) *Stores { return &Stores{redis: rc} }

// Namespace opens one service's namespace.
func (s *Stores) Namespace(name string, shards int) store.Store {
	if s.redis != nil {
		return redisstore.New(s.redis, name, shards, s.redisOpts...)
	}
	return s.db.Namespace(name, shards)
}

// Close releases the connection or file.
func (s *Stores) Close() error {
	if s.redis != nil {
		return s.redis.Close()
	}
	return s.db.Close()
}

// DefaultProviderTokenIssuer is the iss of the catalogue's provider tokens.
const DefaultProviderTokenIssuer = "polku-catalogue"

// NewVerifier builds the token verifier the configuration names: the region's
// identity provider, plus the catalogue's provider-token issuer when its public
// key is configured, behind a cache of verified tokens (POLKU_TOKEN_CACHE_TTL).
func NewVerifier(ctx context.Context, c Common) (auth.TokenVerifier, error) {
	v, err := issuerVerifier(ctx, c)
	if err != nil || c.TokenCacheTTL <= 0 {
		return v, err
	}
	return auth.NewCachedVerifier(v, tokenCacheSize, c.TokenCacheTTL), nil
}

func issuerVerifier(ctx context.Context, c Common) (auth.TokenVerifier, error) {
	idp, err := idpVerifier(ctx, c)
	if err != nil || c.ProviderTokenPublicKeyFile == "" {
		return idp, err
	}
	if c.ProviderTokenIssuer == c.JWTIssuer {
		return nil, errors.New("POLKU_PROVIDER_TOKEN_ISSUER must differ from POLKU_JWT_ISSUER")
	}
	pem, err := os.ReadFile(c.ProviderTokenPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE: %w", err)
	}
	prov, err := auth.NewVerifier(ctx, auth.Config{Issuer: c.ProviderTokenIssuer, Audience: c.JWTAudience, PublicKeyPEM: pem})
	if err != nil {
		return nil, fmt.Errorf("POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE: %w", err)
	}
	return auth.NewMultiVerifier(
		auth.Trusted{Issuer: c.JWTIssuer, Verifier: idp},
		auth.Trusted{Issuer: c.ProviderTokenIssuer, Verifier: prov, Roles: []auth.Role{auth.RoleProvider}},
	)
}

func idpVerifier(ctx context.Context, c Common) (*auth.Verifier, error) {
	cfg := auth.Config{Issuer: c.JWTIssuer, Audience: c.JWTAudience, JWKSURL: c.JWKSURL}
	switch {
	case c.JWKSURL != "" && c.JWTPublicKeyFile != "":
		return nil, errors.New("set only one of POLKU_JWKS_URL and POLKU_JWT_PUBLIC_KEY_FILE")
	case c.JWTPublicKeyFile != "":
		pem, err := os.ReadFile(c.JWTPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("POLKU_JWT_PUBLIC_KEY_FILE: %w", err)
		}
		cfg.PublicKeyPEM = pem
	case c.JWKSURL == "":
		return nil, errors.New("set POLKU_JWKS_URL (production) or POLKU_JWT_PUBLIC_KEY_FILE (development)")
	}
	return auth.NewVerifier(ctx, cfg)
}
