package stacks

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/apk8s/apk8s-platform/components/certmanager"
	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/kafkaconsole"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/internal/disposable"
	"github.com/apk8s/apk8s-platform/internal/workload"
)

// Cluster sources: where Kubernetes runs.
const (
	ClusterScaleway = "scaleway"
	ClusterExisting = "existing"
)

// Config is the validated stack config.
type Config struct {
	Stack                 string
	Disposable            bool
	Cluster               string
	KubeContext           string
	RenderYamlToDirectory string

	Domain      string
	Certificate bool
	// CertificateIssuer is the ClusterIssuer of data-cert, its default
	// resolved from Disposable.
	CertificateIssuer string
	BasicAuthUser     string
	BasicAuthPassword pulumi.StringOutput // a secret

	ZooKeeper zookeeper.Config
	Kafka     kafka.Config
	Mosquitto mosquitto.Config
	// Console is the Kafka web console; nil with kafkaConsole "none".
	Console *kafkaconsole.Config
	// Connect runs the MQTT → Kafka routes; no routes, no Connect.
	Connect kafkaconnect.Config
	// KafkaReset makes a new Kafka cluster whatever the stack ran before
	// (after its Kafka was destroyed), instead of keeping to its mode and
	// quorum (settleKafka).
	KafkaReset bool

	Scaleway ScalewayConfig // with cluster "scaleway"; zone, project, workers' type and network with "kapsule" too
	Kapsule  KapsuleConfig  // with cluster "kapsule"
	Addons   AddonsConfig

	// Warnings are legal but doubtful choices, logged before deployment.
	Warnings []string
}

// ConfigError lists every problem of a stack config at once.
type ConfigError struct {
	Stack    string
	Problems []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("stack %q has invalid config (%d problems); nothing was deployed:\n  - %s",
		e.Stack, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Load reads and validates the stack config. It registers nothing, so a
// config with problems fails before the first resource.
func Load(ctx *pulumi.Context) (*Config, error) {
	r := &reader{get: ctx.GetConfig, isSecret: ctx.IsConfigSecret}
	c := &Config{Stack: ctx.Stack()}

	c.Disposable = r.boolean("disposable")
	if c.Disposable && !disposable.NameMatches(c.Stack) {
		r.fail("disposable", "true", fmt.Sprintf("false for stack %q: only a stack whose name matches %s may be disposable "+
			"(the teardown refuses any other; a copied dev stack file keeps the mark but not the name)", c.Stack, disposable.NamePattern))
	}
	c.Cluster = r.oneOf("cluster", ClusterScaleway, ClusterKapsule, ClusterExisting)
	c.KubeContext = r.str("kubeContext")
	if c.KubeContext != "" && c.Cluster != ClusterExisting {
		r.fail("kubeContext", c.KubeContext, `only with cluster "existing" (the Scaleway cluster makes its own kubeconfig)`)
	}
	c.RenderYamlToDirectory = r.str("renderYamlToDirectory")

	c.Domain = r.str("domain")
	if errs := validation.IsDNS1123Subdomain(c.Domain); len(errs) > 0 || !strings.Contains(c.Domain, ".") {
		r.fail("domain", c.Domain, "a lower-case DNS name with at least two labels, such as dev3.apk8s.dev")
	}
	c.Certificate = r.boolean("certificate")
	c.CertificateIssuer = r.oneOf("certificateIssuer", "", certmanager.StagingIssuer, certmanager.ProductionIssuer)
	if c.CertificateIssuer == "" {
		c.CertificateIssuer = defaultIssuer(c.Disposable)
	}
	c.BasicAuthUser = r.str("basicAuthUser")
	if c.BasicAuthUser == "" || strings.ContainsAny(c.BasicAuthUser, ": \t\r\n") {
		r.fail("basicAuthUser", c.BasicAuthUser, "a non-empty user name without ':' or white space")
	}
	c.BasicAuthPassword = r.password("basicAuthPassword")

	class := r.str("storageClass")
	if class != "" && len(validation.IsDNS1123Subdomain(class)) > 0 {
		r.fail("storageClass", class, `a StorageClass name (lower-case letters, digits, '-' and '.'), or "" for the cluster's default`)
	}

	c.ZooKeeper = zookeeper.Config{
		Image:        r.image("zookeeperImage"),
		Replicas:     r.integer("zookeeperReplicas", 1, 7),
		Heap:         r.str("zookeeperHeap"),
		MemoryLimit:  r.quantity("zookeeperMemoryLimit"),
		StorageSize:  r.quantity("zookeeperStorageSize"),
		StorageClass: class,
	}
	r.heap("zookeeperHeap", c.ZooKeeper.Heap, "zookeeperMemoryLimit", c.ZooKeeper.MemoryLimit)
	if n := c.ZooKeeper.Replicas; n > 0 && n%2 == 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s:zookeeperReplicas = %d: an even ensemble survives no more failures than one of %d members (%d), and its PodDisruptionBudget lets a drain evict only %d of them at a time%s; the book runs 2 on its small cluster, use 3 where you can",
			Project, n, n-1, workload.QuorumTolerance(n), workload.QuorumTolerance(n), noEviction(n)))
	}

	c.Kafka = kafka.Config{
		Mode:                 r.oneOf("kafkaMode", kafka.ModeZooKeeper, kafka.ModeKRaft),
		Image:                r.image("kafkaImage"),
		Replicas:             r.integer("kafkaReplicas", 1, 32),
		Voters:               r.integer("kafkaControllerVoters", 0, 32),
		Heap:                 r.str("kafkaHeap"),
		MemoryLimit:          r.quantity("kafkaMemoryLimit"),
		StorageSize:          r.quantity("kafkaStorageSize"),
		StorageClass:         class,
		OffsetsTopicReplicas: r.integer("kafkaOffsetsReplication", 0, 32),
	}
	r.heap("kafkaHeap", c.Kafka.Heap, "kafkaMemoryLimit", c.Kafka.MemoryLimit)
	if c.Kafka.Replicas > 0 && c.Kafka.OffsetsTopicReplicas > c.Kafka.Replicas {
		r.fail("kafkaOffsetsReplication", fmt.Sprint(c.Kafka.OffsetsTopicReplicas),
			fmt.Sprintf("at most kafkaReplicas (%d): a topic cannot have more replicas than brokers", c.Kafka.Replicas))
	}

	loadKraft(r, &c.Kafka)
	c.KafkaReset = r.boolean("kafkaClusterReset")

	c.Mosquitto = mosquitto.Config{
		Image:    r.image("mosquittoImage"),
		User:     r.str("mqttUser"),
		Password: r.password("mqttPassword"),
	}
	if u := c.Mosquitto.User; u == "" || strings.ContainsAny(u, ": \t\r\n") {
		r.fail("mqttUser", u, "a non-empty user name without ':' or white space")
	}
	c.Mosquitto.Bridges = r.bridges(c.Stack)
	c.Connect = r.connect()

	c.Scaleway = loadScaleway(r, c)
	c.Scaleway.Cluster.CI = loadCIPath(r)
	c.Kapsule = loadKapsule(r, c, c.Scaleway)
	c.Addons = loadAddons(r, c)
	loadDataTLS(r, c)
	loadKafkaAuth(r, c)

	keys, err := configKeys(ctx)
	if err != nil {
		return nil, err
	}
	r.unknownKeys(keys)

	if len(r.problems) > 0 {
		return nil, &ConfigError{Stack: ctx.Stack(), Problems: r.problems}
	}
	return c, nil
}

// loadDataTLS reads which listeners the data services open: TLS ones need
// certificates of the namespace's CA, which cert-manager keeps. Without
// cert-manager the broker keeps the plain listener, and says so unless the
// stack asks for it.
func loadDataTLS(r *reader, c *Config) {
	c.Mosquitto.TLS = c.Addons.CertManager != AddonNone
	c.Mosquitto.Plain = r.boolean("mqttPlainListener")
	if !c.Mosquitto.TLS && !c.Mosquitto.Plain {
		c.Mosquitto.Plain = true
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			`%s:certManager = "none": the data namespace has no CA to sign Mosquitto's TLS listener, so MQTT keeps the plain listener (1883) and its passwords cross the network in plain text; set mqttPlainListener to true to say that is meant`,
			Project))
	}
}

// defaultIssuer is Let's Encrypt staging for a disposable stack, which is
// rebuilt every day and would exhaust production's 5 duplicate
// certificates a week, and production for a kept one.
func defaultIssuer(disposable bool) string {
	if disposable {
		return certmanager.StagingIssuer
	}
	return certmanager.ProductionIssuer
}

// loadKraft reads the keys of KRaft mode; a quorum setting in ZooKeeper mode
// is an error, as it would be silently ignored. Voters stays 0 when the
// stack leaves the choice to creation time (settleKafka).
func loadKraft(r *reader, k *kafka.Config) {
	kraftImage := r.image("kafkaKraftImage")
	voters := fmt.Sprint(k.Voters)
	if k.Mode != kafka.ModeKRaft {
		if k.Voters != 0 {
			r.fail("kafkaControllerVoters", voters, fmt.Sprintf(`0 while kafkaMode is %q: only KRaft has controllers`, k.Mode))
		}
		return
	}
	k.Image = kraftImage
	switch {
	case k.Voters != 0 && k.Voters != 1 && k.Voters != 3:
		r.fail("kafkaControllerVoters", voters, "1 or 3, an odd quorum (2 survives no more failures than 1), or 0 to choose when the cluster is created")
	case k.Replicas > 0 && k.Voters > k.Replicas:
		r.fail("kafkaControllerVoters", voters, fmt.Sprintf("at most kafkaReplicas (%d): every controller is one of the brokers' pods", k.Replicas))
	}
}

// reader reads keys with their declared defaults and collects problems.
type reader struct {
	get      func(key string) (string, bool)
	isSecret func(key string) bool
	problems []string
}

func fullKey(name string) string { return Project + ":" + name }

// fail records that key's value is not allowed and what is.
func (r *reader) fail(key, value, allowed string) {
	r.problems = append(r.problems, fmt.Sprintf("%s = %q is not allowed: must be %s", fullKey(key), value, allowed))
}

// raw is the key's value, or its declared default when the stack sets none.
func (r *reader) raw(name string) string {
	if v, ok := r.get(fullKey(name)); ok {
		return v
	}
	if k, ok := declared(name); ok {
		return k.Default
	}
	r.problems = append(r.problems, fmt.Sprintf("%s is read but not declared in stacks.Keys", fullKey(name)))
	return ""
}

// changed is the key's value when the stack sets it to something other than
// its declared default. The Pulumi CLI hands the program every default of
// Pulumi.yaml as a set value, so "set" alone cannot tell a stack that
// configures a key from one that leaves it alone.
func (r *reader) changed(name string) (string, bool) {
	v, ok := r.get(fullKey(name))
	if !ok || v == defaultValue(name) {
		return v, false
	}
	return v, true
}

// declared is the key of that name in Keys.
func declared(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// defaultValue is a key's declared default, the example its messages give.
func defaultValue(name string) string {
	k, _ := declared(name)
	return k.Default
}

func (r *reader) str(name string) string { return strings.TrimSpace(r.raw(name)) }

func (r *reader) oneOf(name string, allowed ...string) string {
	v := r.str(name)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, v, "one of "+quoteAll(allowed))
	return v
}

func (r *reader) boolean(name string) bool {
	v := r.str(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, v, "true or false")
	}
	return b
}

func (r *reader) integer(name string, lo, hi int32) int32 {
	v := r.str(name)
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || int32(n) < lo || int32(n) > hi {
		r.fail(name, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return 0
	}
	return int32(n)
}

// quantity reads a Kubernetes quantity such as "5Gi", at least the key's
// floor.
func (r *reader) quantity(name string) resource.Quantity {
	v := r.str(name)
	f := floors[name]
	q, err := resource.ParseQuantity(v)
	switch {
	case err != nil || q.Sign() <= 0:
		r.fail(name, v, fmt.Sprintf(`a positive Kubernetes quantity such as %q, at least %s`, defaultValue(name), f.Min))
		return resource.Quantity{}
	case q.Cmp(resource.MustParse(f.Min)) < 0:
		r.fail(name, v, fmt.Sprintf("at least %s: %s", f.Min, f.Why))
		return resource.Quantity{}
	}
	return q
}

// A floor is the smallest value of a size key that its service runs on,
// and why. A size below it passes the API server and fails at run time:
// a volume full at once, a JVM killed at start.
type floor struct{ Min, Why string }

// floors are the size keys' floors: memory limits and storage sizes as
// Kubernetes quantities, heaps as JVM sizes.
var floors = map[string]floor{
	"zookeeperHeap":        {"128m", "a member's in-memory database and sessions need it"},
	"zookeeperMemoryLimit": {"256Mi", "the smallest heap (128m) and the JVM's memory outside it"},
	"zookeeperStorageSize": {"512Mi", "the three snapshots and transaction logs a member keeps between purges"},
	"kafkaHeap":            {"256m", "a broker's request buffers and metadata need it"},
	"kafkaMemoryLimit":     {"512Mi", "the smallest heap (256m) and the JVM's memory outside it"},
	"kafkaStorageSize":     {"1Gi", "one log segment (log.segment.bytes, 1 GiB) fits before the broker rolls and deletes it"},
}

// An image is pinned by a release tag (major.minor.patch, an optional "v"
// before it and a suffix after it, such as "2.0.22", "v1.9.0",
// "4.3.1-9.0.2", "1.5.0-alpine"), optionally with its digest, or by its
// digest alone. Refused: a bare name, a channel tag ("latest", "main"), and
// a tag that names a line rather than a release ("3", "3.9", "2-alpine",
// "7.9-latest"): each moves when its project releases, so a second `up`
// would not run what the first ran. A digest alone is the strongest pin
// (the registry cannot move it), but it carries no version: Renovate
// cannot propose the next one, so whoever sets it updates it.
var (
	imageName    = regexp.MustCompile(`^([a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	imageTag     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigest  = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	imageRelease = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([._-][A-Za-z0-9_.-]+)?$`)
	// imageChannel is a word that, anywhere in a tag, names a line that
	// moves ("1.2.3-latest" too).
	imageChannel = regexp.MustCompile(`(?i)(^|[._-])(latest|stable|edge|nightly|main|master|current|rolling|lts)([._-]|$)`)
)

func (r *reader) image(name string) string {
	v := r.str(name)
	if problem := imageProblem(v); problem != "" {
		r.fail(name, v, fmt.Sprintf(`an image with a release tag (major.minor.patch), optionally pinned by digest, such as %q or "%s@sha256:<64 hex digits>", or a digest alone: %s`,
			defaultValue(name), defaultValue(name), problem))
	}
	return v
}

// imageProblem says what is wrong with an image reference, "" if nothing.
func imageProblem(ref string) string {
	ref, digest, pinned := strings.Cut(ref, "@")
	if pinned && !imageDigest.MatchString(digest) {
		return fmt.Sprintf("the digest %q is not sha256: and 64 lower-case hex digits", digest)
	}
	// The tag follows the last ":" after the last "/" (a registry may have a port).
	name, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	switch {
	case !imageName.MatchString(name):
		return fmt.Sprintf("the name %q is not lower-case components separated by \"/\"", name)
	case tag == "" && pinned:
		return "" // the digest alone pins it
	case tag == "":
		return "it has no tag: a bare name floats"
	case !imageTag.MatchString(tag):
		return fmt.Sprintf("the tag %q is not letters, digits, \"_\", \".\" and \"-\" (at most 128)", tag)
	case imageChannel.MatchString(tag) || !imageRelease.MatchString(tag):
		return fmt.Sprintf("the tag %q is a line that moves, not a release (major.minor.patch)", tag)
	}
	return ""
}

// heap checks a JVM heap size against the container's memory limit.
func (r *reader) heap(heapKey, heap, limitKey string, limit resource.Quantity) {
	size, err := workload.ParseHeap(heap)
	if err != nil {
		r.fail(heapKey, heap, `a JVM heap size such as "512m" or "1G"`)
		return
	}
	f := floors[heapKey]
	if least, _ := workload.ParseHeap(f.Min); size < least {
		r.fail(heapKey, heap, fmt.Sprintf("at least %s: %s", f.Min, f.Why))
		return
	}
	if limit.Sign() <= 0 {
		return // the limit's own problem is reported already
	}
	if max := float64(limit.Value()) * workload.HeapShare; float64(size) > max {
		r.fail(heapKey, heap, fmt.Sprintf("at most %.0f%% of %s (%s), leaving the JVM room outside its heap",
			workload.HeapShare*100, fullKey(limitKey), limit.String()))
	}
}

// password checks the secret without ever putting its value in a message.
func (r *reader) password(name string) pulumi.StringOutput {
	v, ok := r.get(fullKey(name))
	switch {
	case !ok || v == "":
		r.problems = append(r.problems, fmt.Sprintf(
			"%s is not set: must be a secret of 8 to 72 bytes (pulumi config set --secret %s)", fullKey(name), name))
	case !r.isSecret(fullKey(name)):
		r.problems = append(r.problems, fmt.Sprintf(
			"%s is stored in plain text: must be a secret (pulumi config set --secret %s)", fullKey(name), name))
	case len(v) < 8 || len(v) > 72 || strings.ContainsAny(v, "\r\n"):
		r.problems = append(r.problems, fmt.Sprintf(
			"%s (secret, %d bytes) is not allowed: must be 8 to 72 bytes on one line", fullKey(name), len(v)))
	}
	return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
}

// noEviction says what a budget that tolerates no eviction means.
func noEviction(n int32) string {
	if workload.QuorumTolerance(n) > 0 {
		return ""
	}
	return " (none: a drain waits until you evict a member by hand)"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	sort.Strings(q)
	return strings.Join(q, ", ")
}
