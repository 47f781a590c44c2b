// Package connectrest configures connectors through Kafka Connect's REST
// API idempotently: a connector that is missing is created, one whose
// config differs is updated, one that matches is left alone. The Job of
// components/kafkaconnect runs it (cmd/connect-configure), so that every
// `up` can run it again without restarting a connector.
package connectrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"time"
)

// Outcome says what Apply did.
type Outcome string

// The outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Client talks to one Connect cluster's REST API.
type Client struct {
	// URL is the REST root, such as http://kafka-connect:8083.
	URL  string
	HTTP *http.Client
	// Retry is how long a connection refused or a 5xx is retried (the
	// workers start after the Job, or rebalance); 0 = no retry.
	Retry time.Duration
	// Every is the pause between tries (0 = a second).
	Every time.Duration
}

// Apply makes connector name's config equal to config.
func (c Client) Apply(ctx context.Context, name string, config map[string]string) (Outcome, error) {
	current, found, err := c.current(ctx, name)
	if err != nil {
		return "", err
	}
	// Connect adds the connector's name to the config it returns.
	want := maps.Clone(config)
	want["name"] = name
	if found && maps.Equal(current, want) {
		return Unchanged, nil
	}
	if err := c.put(ctx, name, config); err != nil {
		return "", err
	}
	if found {
		return Updated, nil
	}
	return Created, nil
}

func (c Client) endpoint(name string) string {
	return c.URL + "/connectors/" + url.PathEscape(name) + "/config"
}

// current is the connector's config, found false when it does not exist.
func (c Client) current(ctx context.Context, name string) (map[string]string, bool, error) {
	status, body, err := c.do(ctx, http.MethodGet, c.endpoint(name), nil)
	switch {
	case err != nil:
		return nil, false, err
	case status == http.StatusNotFound:
		return nil, false, nil
	case status != http.StatusOK:
		return nil, false, fmt.Errorf("GET %s: %d %s", c.endpoint(name), status, body)
	}
	var config map[string]string
	if err := json.Unmarshal(body, &config); err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", c.endpoint(name), err)
	}
	return config, true, nil
}

// put creates or replaces the connector's config (PUT is both in Connect).
func (c Client) put(ctx context.Context, name string, config map[string]string) error {
	body, err := json.Marshal(config)
	if err != nil {
		return err
	}
	status, answer, err := c.do(ctx, http.MethodPut, c.endpoint(name), body)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("PUT %s: %d %s", c.endpoint(name), status, answer)
	}
	return nil
}

// do sends one request, again while the cluster is not there or answers
// 5xx (a worker starting, a rebalance: 409 is Connect's "rebalance in
// progress") until Retry has passed.
func (c Client) do(ctx context.Context, method, target string, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(c.Retry)
	every := c.Every
	if every == 0 {
		every = time.Second
	}
	for {
		status, answer, err := c.once(ctx, method, target, body)
		retry := err != nil || status >= 500 || status == http.StatusConflict
		if !retry || !time.Now().Before(deadline) {
			return status, answer, err
		}
		select {
		case <-ctx.Done():
			return 0, nil, errors.Join(ctx.Err(), err)
		case <-time.After(every):
		}
	}
}

func (c Client) once(ctx context.Context, method, target string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}
