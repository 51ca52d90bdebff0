package boot

import (
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/config"
)

func TestLoadCommonRedisWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    int
		timeout time.Duration
		wantErr bool
	}{
		{"off by default", map[string]string{}, 0, time.Second, false},
		{"sentinel", map[string]string{"POLKU_REDIS_WAIT_REPLICAS": "1", "POLKU_REDIS_WAIT_TIMEOUT": "250ms",
			"POLKU_REDIS_MASTER_NAME": "m", "POLKU_REDIS_ADDRS": "a:1,b:2,c:3"}, 1, 250 * time.Millisecond, false},
		{"single node", map[string]string{"POLKU_REDIS_WAIT_REPLICAS": "2", "POLKU_REDIS_ADDRS": "a:1"}, 2, time.Second, false},
		{"cluster refused", map[string]string{"POLKU_REDIS_WAIT_REPLICAS": "1", "POLKU_REDIS_ADDRS": "a:1,b:2"}, 1, time.Second, true},
		{"not a number", map[string]string{"POLKU_REDIS_WAIT_REPLICAS": "one"}, 0, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := config.FromMap(tc.env)
			c := LoadCommon(e)
			if err := e.Err(); (err != nil) != tc.wantErr {
				t.Fatalf("errors = %v; want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && (c.RedisWaitReplicas != tc.want || c.RedisWaitTimeout != tc.timeout) {
				t.Errorf("wait = %d, %v; want %d, %v", c.RedisWaitReplicas, c.RedisWaitTimeout, tc.want, tc.timeout)
			}
		})
	}
}
