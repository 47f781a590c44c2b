package stacks

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// bridgeKeys configure the MQTT pipeline: the broker's bridges to remote
// brokers.
var bridgeKeys = []Key{
	{Name: "mqttBridges", Type: "array", Items: "object", Default: "[]", HasDefault: true, Description: "Bridges from the platform's MQTT broker to remote brokers: a list of {name, address, topics: [{pattern, direction in/out/both, qos, localPrefix, remotePrefix}], ca, username, password (secret: `pulumi config set --path --secret 'mqttBridges[0].password'`), egressCidrs, tls, allowPlaintext} (docs/mqtt-pipeline.md)."},
}

// bridgeEntry is one entry of mqttBridges as the stack file writes it.
type bridgeEntry struct {
	Name    string       `json:"name"`
	Address string       `json:"address"`
	Topics  []topicEntry `json:"topics"`
	// TLS is on unless false; false needs AllowPlaintext as well.
	TLS            *flexBool `json:"tls"`
	AllowPlaintext flexBool  `json:"allowPlaintext"`
	CA             string    `json:"ca"`
	Username       string    `json:"username"`
	Password       string    `json:"password"`
	ClientID       string    `json:"clientId"`
	EgressCIDRs    []string  `json:"egressCidrs"`
}

type topicEntry struct {
	Pattern      string   `json:"pattern"`
	Direction    string   `json:"direction"`
	QoS          *flexInt `json:"qos"`
	LocalPrefix  string   `json:"localPrefix"`
	RemotePrefix string   `json:"remotePrefix"`
}

// flexBool and flexInt read a JSON bool or number, or the same as a
// string: `pulumi config set --path` may store either.
type (
	flexBool bool
	flexInt  int
)

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	v, err := strconv.ParseBool(strings.Trim(string(raw), `"`))
	*b = flexBool(v)
	return err
}

func (n *flexInt) UnmarshalJSON(raw []byte) error {
	v, err := strconv.Atoi(strings.Trim(string(raw), `"`))
	*n = flexInt(v)
	return err
}

// Defaults of a bridge entry.
const (
	bridgeTLSPort   = 8883
	bridgePlainPort = 1883
	bridgeQoS       = 1 // at least once: a machine's reading is not lost on a reconnect
)

var (
	// bridgeName is a DNS label of at most 40 characters: it names files
	// and the bridge's client id.
	bridgeName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)
	// mqttClientID keeps to what every broker accepts.
	mqttClientID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// bridges reads mqttBridges: every problem of every entry, each named by
// its index and name.
func (r *reader) bridges(stack string) []mosquitto.Bridge {
	const key = "mqttBridges"
	raw := r.str(key)
	if raw == "" {
		return nil
	}
	var entries []bridgeEntry
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		// The value may hold passwords: the message never quotes it.
		r.problems = append(r.problems, fmt.Sprintf("%s is not allowed: must be a list of bridge objects (docs/mqtt-pipeline.md): %v", fullKey(key), err))
		return nil
	}
	secret := r.isSecret(fullKey(key))
	seen := map[string]bool{}
	var out []mosquitto.Bridge
	for i, e := range entries {
		b := bridgeCheck{r: r, at: fmt.Sprintf("%s[%d]", key, i)}
		if e.Name != "" {
			b.name = fmt.Sprintf(" (bridge %q)", e.Name)
		}
		out = append(out, b.entry(e, stack, secret))
		if seen[e.Name] {
			b.fail("name", e.Name, "a name no other bridge has")
		}
		seen[e.Name] = true
	}
	return out
}

// bridgeCheck reports the problems of one entry.
type bridgeCheck struct {
	r    *reader
	at   string // the entry's path, "mqttBridges[0]"
	name string // " (bridge \"factory\")", when it has one
}

func (b bridgeCheck) fail(field, value, allowed string) {
	b.r.problems = append(b.r.problems, fmt.Sprintf("%s:%s.%s = %q%s is not allowed: must be %s", Project, b.at, field, value, b.name, allowed))
}

func (b bridgeCheck) entry(e bridgeEntry, stack string, secret bool) mosquitto.Bridge {
	if !bridgeName.MatchString(e.Name) {
		b.fail("name", e.Name, "a lower-case DNS label of at most 40 characters, such as \"factory\"")
	}
	tls := e.TLS == nil || bool(*e.TLS)
	out := mosquitto.Bridge{Name: e.Name, ClientID: e.ClientID, Username: e.Username}
	if out.ClientID == "" {
		out.ClientID = "apk8s-" + stack + "-" + e.Name
	}
	if !mqttClientID.MatchString(out.ClientID) {
		b.fail("clientId", out.ClientID, "1 to 64 letters, digits, '_', '.' and '-'")
	}
	out.Host, out.Port = b.address(e.Address, tls)
	out.Egress = b.egress(out.Host, e.EgressCIDRs)
	if len(e.Topics) == 0 {
		b.fail("topics", "[]", `at least one topic, such as {"pattern": "machines/#", "direction": "in"}`)
	}
	for j, t := range e.Topics {
		out.Topics = append(out.Topics, b.topic(j, t))
	}
	switch {
	case tls && bool(e.AllowPlaintext):
		b.fail("allowPlaintext", "true", `set only with "tls": false`)
	case tls:
		out.CA = b.ca(e.CA)
	case !bool(e.AllowPlaintext):
		b.fail("tls", "false", `true (the default), or false together with "allowPlaintext": true: without TLS the bridge's password and every message cross the network readable`)
	}
	if !tls && e.CA != "" {
		b.fail("ca", "(a certificate)", `empty with "tls": false: a plain-text bridge checks no certificate`)
	}
	b.credentials(e, secret)
	out.Password = pulumi.ToSecret(pulumi.String(e.Password)).(pulumi.StringOutput)
	return out
}

// address is host[:port]; the port defaults to MQTT's own for TLS or not.
func (b bridgeCheck) address(address string, tls bool) (string, int32) {
	const allowed = `a host name or IP address with an optional port, such as "mqtt.factory.example:8883" or "[2001:db8::1]:8883"`
	host, port := address, bridgeTLSPort
	if !tls {
		port = bridgePlainPort
	}
	if h, p, err := net.SplitHostPort(address); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 65535 {
			b.fail("address", address, allowed+" (a port from 1 to 65535)")
			return h, 0
		}
		host, port = h, n
	}
	if net.ParseIP(host) == nil && (len(validation.IsDNS1123Subdomain(host)) > 0 || strings.Contains(host, ":")) {
		b.fail("address", address, allowed)
	}
	return host, int32(port)
}

// egress is the CIDRs the policy opens for the remote: an IP address is
// its own; a host name needs the addresses it resolves to, as a
// NetworkPolicy knows addresses, not names.
func (b bridgeCheck) egress(host string, cidrs []string) []string {
	if ip, err := netip.ParseAddr(host); err == nil {
		if len(cidrs) > 0 {
			b.fail("egressCidrs", strings.Join(cidrs, ","), "empty for a remote given by address: the policy opens that address alone")
		}
		return []string{netip.PrefixFrom(ip, ip.BitLen()).String()}
	}
	if host == "" {
		return nil
	}
	if len(cidrs) == 0 {
		b.fail("egressCidrs", "", fmt.Sprintf("the addresses %s resolves to, such as [\"203.0.113.10/32\"]: a NetworkPolicy admits addresses, not names", host))
	}
	var out []string
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		switch {
		case err != nil || p != p.Masked():
			b.fail("egressCidrs", c, `a CIDR with its host bits zero, such as "203.0.113.10/32"`)
		case p.Bits() == 0:
			b.fail("egressCidrs", c, "a CIDR narrower than the whole internet")
		default:
			out = append(out, c)
		}
	}
	return out
}

func (b bridgeCheck) topic(j int, t topicEntry) mosquitto.BridgeTopic {
	field := func(name string) string { return fmt.Sprintf("topics[%d].%s", j, name) }
	if problem := filterProblem(t.Pattern); problem != "" {
		b.fail(field("pattern"), t.Pattern, "an MQTT topic filter such as \"machines/#\": "+problem)
	}
	switch t.Direction {
	case mosquitto.DirectionIn, mosquitto.DirectionOut, mosquitto.DirectionBoth:
	default:
		b.fail(field("direction"), t.Direction, `one of "in" (remote to platform), "out" (platform to remote), "both"`)
	}
	qos := bridgeQoS
	if t.QoS != nil {
		qos = int(*t.QoS)
		if qos < 0 || qos > 2 {
			b.fail(field("qos"), strconv.Itoa(qos), "0, 1 or 2")
		}
	}
	for name, p := range map[string]string{"localPrefix": t.LocalPrefix, "remotePrefix": t.RemotePrefix} {
		if strings.ContainsAny(p, "+#\" \t\r\n") {
			b.fail(field(name), p, "a topic prefix without wildcards, quotes or white space, such as \"factory/\"")
		}
	}
	return mosquitto.BridgeTopic{Pattern: t.Pattern, Direction: t.Direction, QoS: qos, LocalPrefix: t.LocalPrefix, RemotePrefix: t.RemotePrefix}
}

// filterProblem says what is wrong with an MQTT topic filter, "" if
// nothing: '#' only as the last level, '+' only as a whole level, and no
// white space or quote (Mosquitto splits its topic lines at spaces).
func filterProblem(f string) string {
	if f == "" {
		return "it is empty"
	}
	if strings.ContainsAny(f, "\" \t\r\n\x00") {
		return "it has white space or a quote"
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#") && (l != "#" || i != len(levels)-1):
			return "'#' must be the whole last level"
		case strings.Contains(l, "+") && l != "+":
			return "'+' must be a whole level"
		}
	}
	return ""
}

// ca checks the remote's CA: PEM certificates that parse.
func (b bridgeCheck) ca(ca string) string {
	const allowed = `the PEM of the CA that signed the remote's certificate (TLS is on by default), or "tls": false with "allowPlaintext": true`
	rest := []byte(strings.TrimSpace(ca))
	if len(rest) == 0 {
		b.fail("ca", "", allowed)
		return ""
	}
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			b.fail("ca", "(not PEM certificates)", allowed)
			return ""
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			b.fail("ca", "(a certificate that does not parse)", allowed+": "+err.Error())
			return ""
		}
	}
	return strings.TrimSpace(ca) + "\n"
}

// credentials checks the user and password without quoting the password.
func (b bridgeCheck) credentials(e bridgeEntry, secret bool) {
	if strings.ContainsAny(e.Username, " \t\r\n\"") {
		b.fail("username", e.Username, "a user name without white space or quotes")
	}
	if e.Password == "" {
		return
	}
	key := fmt.Sprintf("%s:%s.password", Project, b.at)
	switch {
	case e.Username == "":
		b.r.problems = append(b.r.problems, key+b.name+" is set without a username: Mosquitto sends a password only with a user name")
	case !secret:
		b.r.problems = append(b.r.problems, fmt.Sprintf("%s%s is stored in plain text: must be a secret (pulumi config set --path --secret '%s.password')",
			key, b.name, b.at))
	case strings.ContainsAny(e.Password, "\r\n") || strings.TrimSpace(e.Password) != e.Password:
		b.r.problems = append(b.r.problems, fmt.Sprintf("%s%s (secret, %d bytes) is not allowed: must be one line without white space at its ends", key, b.name, len(e.Password)))
	}
}

// pipelineKeys configure the MQTT → Kafka half of the pipeline.
var pipelineKeys = []Key{
	{Name: "mqttToKafka", Type: "array", Items: "object", Default: "[]", HasDefault: true, Description: "Routes from MQTT into Kafka on a Kafka Connect cluster: a list of {name, mqttTopics: [filters], kafkaTopic, qos}; each record's key is the MQTT topic it came from. Needs kafkaConnectImage pinned by digest (docs/mqtt-pipeline.md)."},
	def("kafkaConnectImage", "string", "ghcr.io/apk8s/kafka-connect-mqtt:4.3.1-9.0.2", "Kafka Connect image with the MQTT source connector's jars (images/kafka-connect-mqtt, published by the workflow connect-image); with mqttToKafka it must be pinned by digest (name:tag@sha256:…)."),
}

// routeEntry is one entry of mqttToKafka as the stack file writes it.
type routeEntry struct {
	Name       string   `json:"name"`
	MQTTTopics []string `json:"mqttTopics"`
	KafkaTopic string   `json:"kafkaTopic"`
	QoS        *flexInt `json:"qos"`
}

// kafkaTopicName is what Kafka accepts as a topic name.
var kafkaTopicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// connect reads mqttToKafka and the Connect image.
func (r *reader) connect() kafkaconnect.Config {
	const key = "mqttToKafka"
	image := r.image("kafkaConnectImage")
	raw := r.str(key)
	var entries []routeEntry
	if raw != "" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&entries); err != nil {
			r.fail(key, raw, "a list of routes {name, mqttTopics, kafkaTopic, qos} (docs/mqtt-pipeline.md): "+err.Error())
			return kafkaconnect.Config{Image: image}
		}
	}
	c := kafkaconnect.Config{Image: image}
	if len(entries) > 0 && !strings.Contains(image, "@sha256:") {
		r.fail("kafkaConnectImage", image, "pinned by digest (name:tag@sha256:<64 hex digits>) with mqttToKafka: the connector's jars are whatever that image holds, so it must not move; publish it with the workflow connect-image and take the digest it prints")
	}
	seen := map[string]bool{}
	for i, e := range entries {
		b := bridgeCheck{r: r, at: fmt.Sprintf("%s[%d]", key, i)}
		if e.Name != "" {
			b.name = fmt.Sprintf(" (route %q)", e.Name)
		}
		if !bridgeName.MatchString(e.Name) {
			b.fail("name", e.Name, "a lower-case DNS label of at most 40 characters, such as \"machines\"")
		}
		if seen[e.Name] {
			b.fail("name", e.Name, "a name no other route has")
		}
		seen[e.Name] = true
		if len(e.MQTTTopics) == 0 {
			b.fail("mqttTopics", "[]", `at least one MQTT topic filter, such as ["factory/machines/#"]`)
		}
		for j, f := range e.MQTTTopics {
			if problem := filterProblem(f); problem != "" || strings.Contains(f, "`") {
				b.fail(fmt.Sprintf("mqttTopics[%d]", j), f, "an MQTT topic filter such as \"factory/machines/#\" "+problem)
			}
		}
		switch {
		case !kafkaTopicName.MatchString(e.KafkaTopic) || e.KafkaTopic == "." || e.KafkaTopic == "..":
			b.fail("kafkaTopic", e.KafkaTopic, "a Kafka topic name: 1 to 249 letters, digits, '.', '_' and '-'")
		case strings.HasPrefix(e.KafkaTopic, kafkaconnect.GroupID) || strings.HasPrefix(e.KafkaTopic, "__"):
			b.fail("kafkaTopic", e.KafkaTopic, "a topic of your own, not one of Kafka's or Connect's internal topics")
		}
		qos := bridgeQoS
		if e.QoS != nil {
			qos = int(*e.QoS)
			if qos < 0 || qos > 2 {
				b.fail("qos", strconv.Itoa(qos), "0, 1 or 2")
			}
		}
		c.Routes = append(c.Routes, kafkaconnect.Route{Name: e.Name, Filters: e.MQTTTopics, KafkaTopic: e.KafkaTopic, QoS: qos})
	}
	return c
}
