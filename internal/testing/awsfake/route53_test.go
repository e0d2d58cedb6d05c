package awsfake_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/awsfake"
)

func createZone(t *testing.T, c clients, name string) *route53.CreateHostedZoneOutput {
	t.Helper()
	return ok(c.route53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String(name), CallerReference: aws.String("ref-" + name + time.Now().String()),
	})).must(t)
}

func change(action r53types.ChangeAction, set r53types.ResourceRecordSet) *route53.ChangeResourceRecordSetsInput {
	return &route53.ChangeResourceRecordSetsInput{ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: action, ResourceRecordSet: &set}},
	}}
}

func records(values ...string) []r53types.ResourceRecord {
	var out []r53types.ResourceRecord
	for _, v := range values {
		out = append(out, r53types.ResourceRecord{Value: aws.String(v)})
	}
	return out
}

func changeIn(zoneID string, in *route53.ChangeResourceRecordSetsInput) *route53.ChangeResourceRecordSetsInput {
	in.HostedZoneId = aws.String(zoneID)
	return in
}

func invalidChangeBatch(t *testing.T, err error) []string {
	t.Helper()
	var icb *r53types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Fatalf("want *types.InvalidChangeBatch, got %v", err)
	}
	if errorCode(err) != "InvalidChangeBatch" {
		t.Fatalf("ErrorCode() = %q", errorCode(err))
	}
	return icb.Messages
}

func TestHostedZones(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	out := ok(c.route53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String("Sbx.Example.Test"), CallerReference: aws.String("r1"),
		HostedZoneConfig: &r53types.HostedZoneConfig{Comment: aws.String("sandboxes")},
	})).must(t)
	zoneID := aws.ToString(out.HostedZone.Id)
	if !strings.HasPrefix(zoneID, "/hostedzone/Z") || aws.ToString(out.HostedZone.Name) != "sbx.example.test." ||
		len(out.DelegationSet.NameServers) != 4 || out.ChangeInfo.Status != r53types.ChangeStatusPending || aws.ToString(out.Location) == "" {
		t.Fatalf("created %+v", out)
	}
	_, err := c.route53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("other.test"), CallerReference: aws.String("r1")})
	var exists *r53types.HostedZoneAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("reused caller reference: %v", err)
	}

	// The SDK strips /hostedzone/ from IDs; the fake sees the bare ID.
	got := ok(c.route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: &zoneID})).must(t)
	if aws.ToString(got.HostedZone.Config.Comment) != "sandboxes" || aws.ToInt64(got.HostedZone.ResourceRecordSetCount) != 2 {
		t.Fatalf("get = %+v", got.HostedZone)
	}
	sets := ok(c.route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &zoneID})).must(t).ResourceRecordSets
	if len(sets) != 2 || sets[0].Type != r53types.RRTypeNs || sets[1].Type != r53types.RRTypeSoa || aws.ToInt64(sets[0].TTL) != 172800 {
		t.Fatalf("default sets = %+v", sets)
	}

	createZone(t, c, "a.example.test")
	byName := ok(c.route53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("sbx.example.test")})).must(t).HostedZones
	if len(byName) == 0 || aws.ToString(byName[0].Id) != zoneID {
		t.Fatalf("by name = %+v", byName)
	}
	var all int
	p := route53.NewListHostedZonesPaginator(c.route53, &route53.ListHostedZonesInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		all += len(ok(p.NextPage(ctx)).must(t).HostedZones)
	}
	if all != 2 {
		t.Fatalf("paginated %d zones", all)
	}

	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, r53types.ResourceRecordSet{
		Name: aws.String("www.sbx.example.test"), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: records("192.0.2.1"),
	})))).must(t)
	_, err = c.route53.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: &zoneID})
	var notEmpty *r53types.HostedZoneNotEmpty
	if !errors.As(err, &notEmpty) {
		t.Fatalf("deleting a zone with records: %v", err)
	}
	if left := s.Leftovers(); len(left) != 3 {
		t.Fatalf("leftovers = %v", left)
	}
	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionDelete, r53types.ResourceRecordSet{
		Name: aws.String("www.sbx.example.test."), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: records("192.0.2.1"),
	})))).must(t)
	ok(c.route53.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: &zoneID})).must(t)
	_, err = c.route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: &zoneID})
	var noZone *r53types.NoSuchHostedZone
	if !errors.As(err, &noZone) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestHostedZoneTags(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	zoneID := strings.TrimPrefix(aws.ToString(createZone(t, c, "tags.example.test").HostedZone.Id), "/hostedzone/")
	ok(c.route53.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{
		ResourceType: r53types.TagResourceTypeHostedzone, ResourceId: &zoneID,
		AddTags: []r53types.Tag{{Key: aws.String("Name"), Value: aws.String("sbx")}, {Key: aws.String("env"), Value: aws.String("test")}},
	})).must(t)
	ok(c.route53.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{
		ResourceType: r53types.TagResourceTypeHostedzone, ResourceId: &zoneID, RemoveTagKeys: []string{"env"},
	})).must(t)
	set := ok(c.route53.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: r53types.TagResourceTypeHostedzone, ResourceId: &zoneID})).must(t).ResourceTagSet
	if aws.ToString(set.ResourceId) != zoneID || len(set.Tags) != 1 || aws.ToString(set.Tags[0].Value) != "sbx" {
		t.Fatalf("tags = %+v", set)
	}
	if tags := s.HostedZones()[0].Tags; len(tags) != 1 || tags["Name"] != "sbx" {
		t.Fatalf("inspected tags = %v", tags)
	}
	_, err := c.route53.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: r53types.TagResourceTypeHostedzone, ResourceId: aws.String("ZNOSUCHZONE")})
	wantCode(t, err, "NoSuchHostedZone")
}

func TestPrivateZoneNeedsKnownVPC(t *testing.T) {
	s, c := start(t, awsfake.Options{})
	_, err := c.route53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String("internal.test"), CallerReference: aws.String("p0"),
		VPC: &r53types.VPC{VPCId: aws.String("vpc-00000000000000000"), VPCRegion: r53types.VPCRegion(s.Region())},
	})
	wantCode(t, err, "InvalidVPCId")
	vpc := aws.ToString(ok(c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.6.0.0/16")})).must(t).Vpc.VpcId)
	out := ok(c.route53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String("internal.test"), CallerReference: aws.String("p1"),
		HostedZoneConfig: &r53types.HostedZoneConfig{PrivateZone: true},
		VPC:              &r53types.VPC{VPCId: &vpc, VPCRegion: r53types.VPCRegion(s.Region())},
	})).must(t)
	if !out.HostedZone.Config.PrivateZone || out.DelegationSet != nil {
		t.Fatalf("private zone = %+v", out)
	}
	got := ok(c.route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: out.HostedZone.Id})).must(t)
	if len(got.VPCs) != 1 || aws.ToString(got.VPCs[0].VPCId) != vpc {
		t.Fatalf("VPCs = %+v", got.VPCs)
	}
}

type sinkLog struct {
	mu      sync.Mutex
	changes []awsfake.RecordChange
}

func (l *sinkLog) RecordSetChanged(c awsfake.RecordChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
}

func TestRecordSets(t *testing.T) {
	sink := &sinkLog{}
	s, c := start(t, awsfake.Options{RecordSink: sink})
	zoneID := aws.ToString(createZone(t, c, "sbx.example.test").HostedZone.Id)
	challenge := r53types.ResourceRecordSet{
		Name: aws.String("_acme-challenge.sbx.example.test"), Type: r53types.RRTypeTxt, TTL: aws.Int64(60), ResourceRecords: records(`"token-1"`),
	}
	wildcard := r53types.ResourceRecordSet{
		Name: aws.String("*.sbx.example.test."), Type: r53types.RRTypeA, TTL: aws.Int64(300), ResourceRecords: records("198.51.100.7"),
	}
	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, challenge)))).must(t)
	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, wildcard)))).must(t)

	// CREATE of an existing set, DELETE with other values, unquoted TXT, a name outside the zone.
	_, err := c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, challenge)))
	if msgs := invalidChangeBatch(t, err); len(msgs) != 1 || !strings.Contains(msgs[0], "but it already exists") {
		t.Fatalf("messages = %q", msgs)
	}
	wrong := challenge
	wrong.ResourceRecords = records(`"token-2"`)
	_, err = c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionDelete, wrong)))
	if msgs := invalidChangeBatch(t, err); !strings.Contains(msgs[0], "do not match the current values") {
		t.Fatalf("messages = %q", msgs)
	}
	unquoted := challenge
	unquoted.ResourceRecords = records("token")
	_, err = c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionUpsert, unquoted)))
	if msgs := invalidChangeBatch(t, err); !strings.Contains(msgs[0], "enclosed in quotation marks") {
		t.Fatalf("messages = %q", msgs)
	}
	outside := challenge
	outside.Name = aws.String("example.org")
	_, err = c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionUpsert, outside)))
	if msgs := invalidChangeBatch(t, err); !strings.Contains(msgs[0], "is not permitted in zone") {
		t.Fatalf("messages = %q", msgs)
	}

	// UPSERT merges a second value (what an ACME client does for *.x and x), and the listing shows \052.
	merged := challenge
	merged.ResourceRecords = records(`"token-1"`, `"token-2"`)
	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionUpsert, merged)))).must(t)
	sets := ok(c.route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &zoneID})).must(t).ResourceRecordSets
	var names []string
	for _, rs := range sets {
		names = append(names, aws.ToString(rs.Name)+" "+string(rs.Type))
	}
	want := []string{"sbx.example.test. NS", "sbx.example.test. SOA", `\052.sbx.example.test. A`, "_acme-challenge.sbx.example.test. TXT"}
	if !slices.Equal(names, want) {
		t.Fatalf("listing = %q, want %q", names, want)
	}
	if v := aws.ToString(sets[3].ResourceRecords[1].Value); v != `"token-2"` {
		t.Fatalf("TXT value %s, want it quoted", v)
	}

	// The \052 form round-trips: a DELETE with the name as listed matches.
	listed := sets[2]
	ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionDelete, listed)))).must(t)

	// Start name/type and MaxItems page through the sets.
	page := ok(c.route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: &zoneID, StartRecordName: aws.String("sbx.example.test"), StartRecordType: r53types.RRTypeSoa, MaxItems: aws.Int32(1),
	})).must(t)
	if len(page.ResourceRecordSets) != 1 || page.ResourceRecordSets[0].Type != r53types.RRTypeSoa || !page.IsTruncated ||
		aws.ToString(page.NextRecordName) != "_acme-challenge.sbx.example.test." || page.NextRecordType != r53types.RRTypeTxt {
		t.Fatalf("page = %+v", page)
	}

	// Alias into the same zone needs an existing target of the same type.
	alias := r53types.ResourceRecordSet{Name: aws.String("api.sbx.example.test"), Type: r53types.RRTypeA,
		AliasTarget: &r53types.AliasTarget{HostedZoneId: &zoneID, DNSName: aws.String("www.sbx.example.test"), EvaluateTargetHealth: false}}
	_, err = c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, alias)))
	if msgs := invalidChangeBatch(t, err); !strings.Contains(msgs[0], "target was not found") {
		t.Fatalf("messages = %q", msgs)
	}
	www := r53types.ResourceRecordSet{Name: aws.String("www.sbx.example.test"), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: records("192.0.2.10")}
	ok(c.route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: &zoneID, ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: r53types.ChangeActionCreate, ResourceRecordSet: &www}, {Action: r53types.ChangeActionCreate, ResourceRecordSet: &alias}},
	}})).must(t)
	got := ok(c.route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: &zoneID, StartRecordName: aws.String("api.sbx.example.test"), StartRecordType: r53types.RRTypeA, MaxItems: aws.Int32(1),
	})).must(t).ResourceRecordSets[0]
	if got.AliasTarget == nil || aws.ToString(got.AliasTarget.DNSName) != "www.sbx.example.test." || got.TTL != nil {
		t.Fatalf("alias = %+v", got)
	}

	// A batch is atomic: one bad change rejects the good one too.
	good := r53types.ResourceRecordSet{Name: aws.String("ok.sbx.example.test"), Type: r53types.RRTypeCname, TTL: aws.Int64(60), ResourceRecords: records("www.sbx.example.test")}
	_, err = c.route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: &zoneID, ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: r53types.ChangeActionCreate, ResourceRecordSet: &good}, {Action: r53types.ChangeActionCreate, ResourceRecordSet: &www}},
	}})
	invalidChangeBatch(t, err)
	for _, rs := range s.RecordSets(zoneID) {
		if rs.Name == "ok.sbx.example.test." {
			t.Fatal("a rejected batch was partly applied")
		}
	}

	// The sink heard every applied change, in order, with TXT values unquotable.
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var heard []string
	for _, ch := range sink.changes {
		verb := "set"
		if ch.Deleted {
			verb = "del"
		}
		heard = append(heard, verb+" "+ch.Set.Name+" "+ch.Set.Type)
	}
	wantHeard := []string{
		"set sbx.example.test. NS", "set sbx.example.test. SOA",
		"set _acme-challenge.sbx.example.test. TXT", "set *.sbx.example.test. A", "set _acme-challenge.sbx.example.test. TXT",
		"del *.sbx.example.test. A", "set www.sbx.example.test. A", "set api.sbx.example.test. A",
	}
	if !slices.Equal(heard, wantHeard) {
		t.Fatalf("sink heard %q\nwant %q", heard, wantHeard)
	}
	if txt := sink.changes[4].Set.TXTStrings(); !slices.Equal(txt, []string{"token-1", "token-2"}) {
		t.Fatalf("TXTStrings = %q", txt)
	}
}

func TestChangePropagation(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s, c := start(t, awsfake.Options{Now: clock, Faults: awsfake.Faults{ChangePendingReads: 2}})
	zoneID := aws.ToString(createZone(t, c, "sbx.example.test").HostedZone.Id)
	// A sink may call back into the fake; it sees the change already applied.
	var seen []int
	s.SetRecordSink(awsfake.RecordSinkFunc(func(ch awsfake.RecordChange) { seen = append(seen, len(s.RecordSets(ch.ZoneID))) }))
	set := r53types.ResourceRecordSet{Name: aws.String("a.sbx.example.test"), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: records("192.0.2.1")}
	info := ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, set)))).must(t).ChangeInfo
	if !aws.ToTime(info.SubmittedAt).Equal(now) {
		t.Fatalf("SubmittedAt = %v, want the injected clock's %v", aws.ToTime(info.SubmittedAt), now)
	}
	var statuses []r53types.ChangeStatus
	for range 3 {
		statuses = append(statuses, ok(c.route53.GetChange(ctx, &route53.GetChangeInput{Id: info.Id})).must(t).ChangeInfo.Status)
	}
	if !slices.Equal(statuses, []r53types.ChangeStatus{"PENDING", "PENDING", "INSYNC"}) {
		t.Fatalf("statuses = %v", statuses)
	}
	if !slices.Equal(seen, []int{3}) {
		t.Fatalf("sink saw zones of %v sets, want [3]", seen)
	}

	s.SetFaults(awsfake.Faults{ChangePendingFor: time.Minute})
	set.Name = aws.String("b.sbx.example.test")
	info = ok(c.route53.ChangeResourceRecordSets(ctx, changeIn(zoneID, change(r53types.ChangeActionCreate, set)))).must(t).ChangeInfo
	if st := ok(c.route53.GetChange(ctx, &route53.GetChangeInput{Id: info.Id})).must(t).ChangeInfo.Status; st != r53types.ChangeStatusPending {
		t.Fatalf("status before the delay = %s", st)
	}
	advance(time.Minute)
	w := route53.NewResourceRecordSetsChangedWaiter(c.route53, func(o *route53.ResourceRecordSetsChangedWaiterOptions) { o.MinDelay, o.MaxDelay = 1, 1 })
	if err := w.Wait(ctx, &route53.GetChangeInput{Id: info.Id}, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := c.route53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("/change/CNOSUCHCHANGE")})
	var noChange *r53types.NoSuchChange
	if !errors.As(err, &noChange) {
		t.Fatalf("unknown change: %v", err)
	}
}
