//go:build e2e

package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/ops/engine"
)

// TestUnknownKeyRefusedInline: in the Automation API's inline mode (what
// cmd/platform runs) the program gets its config from the engine's run
// request, not from PULUMI_CONFIG; an undeclared key is refused there too,
// with the nearest declared key, before anything is registered.
func TestUnknownKeyRefusedInline(t *testing.T) {
	e := loadEnv(t)
	ctx := context.Background()
	s := e.stack(t, "local")
	setConfig(t, s, map[string]string{"kafkaReplica": "3"})
	// Every required secret is set, so the only problem is the typo.
	for _, key := range []string{"basicAuthPassword", "mqttPassword"} {
		require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:"+key, randomPassword(t)))
	}
	t.Cleanup(func() { _ = s.Workspace().RemoveStack(ctx, s.Name()) })

	_, err := s.Preview(ctx)
	require.Error(t, err, "preview of a stack with an undeclared key")
	assert.Contains(t, err.Error(), `apk8s-platform:kafkaReplica = "3" is not a key of this program: did you mean apk8s-platform:kafkaReplicas?`)
}
