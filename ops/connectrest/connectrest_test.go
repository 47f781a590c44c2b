package connectrest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
)

// fakeConnect answers Connect's GET and PUT /connectors/<name>/config as
// Connect does (404 for a connector it lacks, 201 on create, 200 on update,
// the name added to the config it returns), after starting answers 503.
type fakeConnect struct {
	mu         sync.Mutex
	connectors map[string]map[string]string
	puts       []string
	starting   int
}

func (f *fakeConnect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.starting > 0 {
		f.starting--
		http.Error(w, `{"error_code":503}`, http.StatusServiceUnavailable)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/connectors/")
	name, ok2 := strings.CutSuffix(name, "/config")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c, found := f.connectors[name]
		if !found {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":404,"message":"Connector ` + name + ` not found"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(c)
	case http.MethodPut:
		var c map[string]string
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c["name"] = name
		_, existed := f.connectors[name]
		f.connectors[name] = c
		f.puts = append(f.puts, name)
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "config": c})
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// TestApplyTwice: the rendered connector config, applied twice, is one
// create and then no change; a changed config is one update.
func TestApplyTwice(t *testing.T) {
	fake := &fakeConnect{connectors: map[string]map[string]string{}, starting: 2}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := Client{URL: srv.URL, Retry: 10 * time.Second, Every: 10 * time.Millisecond}
	ctx := context.Background()
	route := kafkaconnect.Route{Name: "factory", Filters: []string{"factory/machines/#"}, KafkaTopic: "machines", QoS: 1}
	args := kafkaconnect.Args{MQTT: "mqtt:1883", Replication: 3}
	config := kafkaconnect.ConnectorConfig(args, route)
	name := kafkaconnect.ConnectorName(route)

	outcome, err := c.Apply(ctx, name, config)
	require.NoError(t, err)
	assert.Equal(t, Created, outcome, "the first run creates the connector (after two 503s while Connect starts)")

	outcome, err = c.Apply(ctx, name, config)
	require.NoError(t, err)
	assert.Equal(t, Unchanged, outcome, "the second run changes nothing")
	assert.Equal(t, []string{name}, fake.puts, "one PUT in two runs")

	route.QoS = 2
	outcome, err = c.Apply(ctx, name, kafkaconnect.ConnectorConfig(args, route))
	require.NoError(t, err)
	assert.Equal(t, Updated, outcome)
	assert.Equal(t, "2", fake.connectors[name]["connect.mqtt.service.quality"])
	assert.Len(t, fake.puts, 2)
}

// TestApplyGivesUp: a cluster that never answers fails the run with what
// it answered, once the retry time has passed.
func TestApplyGivesUp(t *testing.T) {
	fake := &fakeConnect{connectors: map[string]map[string]string{}, starting: 1000}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	_, err := Client{URL: srv.URL, Retry: 200 * time.Millisecond, Every: 10 * time.Millisecond}.Apply(context.Background(), "mqtt-x", map[string]string{"a": "b"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")
}
