package alifake

import (
	"maps"
	"net/http"
	"time"
)

// Throttle answers calls of one action with Throttling.User: the next Next calls, and (after those)
// every Every-th call counted since the fake started. Zero fields do nothing.
type Throttle struct {
	Next  int
	Every int
}

// Faults are the fault knobs of a Fake. The zero value injects nothing.
type Faults struct {
	// NotFoundReads: a resource created from now on is answered NotFound (or left out of lists) by its
	// next N reads, as an eventually consistent API does right after a create.
	NotFoundReads int
	// PendingReads: a VPC or vSwitch created from now on reports Status "Pending" on its next N reads
	// before "Available"; a Pending vSwitch refuses DeleteVSwitch with IncorrectVSwitchStatus.
	PendingReads int
	// ClusterCreateTime is how long (on the Clock) a new cluster stays "initial" before "running".
	ClusterCreateTime time.Duration
	// ClusterUpdateTime is how long ModifyCluster keeps a cluster "updating".
	ClusterUpdateTime time.Duration
	// ClusterDeleteTime is how long a deleted cluster stays "deleting" before it is gone.
	ClusterDeleteTime time.Duration
	// ClusterFailure, when set, makes clusters created from now on end in state "failed" (and their
	// create task in "fail") with this reason instead of "running".
	ClusterFailure string
	// Throttle maps an action name (for example "DescribeVSwitches" or "DescribeClusterDetail") to
	// its throttling.
	Throttle map[string]Throttle
	// DependencyFailures maps a delete action (DeleteVpc, DeleteVSwitch, DeleteSecurityGroup,
	// DeleteCluster) to a number of extra dependency errors its next calls get, on top of the real
	// dependencies the fake tracks.
	DependencyFailures map[string]int
}

// SetFaults replaces every fault knob.
func (f *Fake) SetFaults(fl Faults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = fl
	f.throttle = map[string]*Throttle{}
	for action, t := range fl.Throttle {
		f.throttle[action] = &t
	}
	f.depFails = maps.Clone(fl.DependencyFailures)
	if f.depFails == nil {
		f.depFails = map[string]int{}
	}
}

// Faults returns the current knobs (Throttle.Next and DependencyFailures count down as they fire).
func (f *Fake) Faults() Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.faults
	fl.Throttle = map[string]Throttle{}
	for action, t := range f.throttle {
		fl.Throttle[action] = *t
	}
	fl.DependencyFailures = maps.Clone(f.depFails)
	return fl
}

// SetThrottle sets the throttling of one action (a zero Throttle removes it).
func (f *Fake) SetThrottle(action string, t Throttle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[action] = &t
}

// FailDeletes makes the next n calls of a delete action fail with its dependency error.
func (f *Fake) FailDeletes(action string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.depFails[action] = n
}

// SetNotFoundReads sets Faults.NotFoundReads for resources created from now on.
func (f *Fake) SetNotFoundReads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.NotFoundReads = n
}

// SetPendingReads sets Faults.PendingReads for VPCs and vSwitches created from now on.
func (f *Fake) SetPendingReads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.PendingReads = n
}

// SetClusterTimes sets how long clusters take to be created, updated and deleted (on the Clock).
func (f *Fake) SetClusterTimes(create, update, del time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.ClusterCreateTime, f.faults.ClusterUpdateTime, f.faults.ClusterDeleteTime = create, update, del
}

// SetClusterFailure makes clusters created from now on fail with reason ("" turns it off).
func (f *Fake) SetClusterFailure(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.ClusterFailure = reason
}

// throttled counts a call of action and reports whether it is to be throttled. f.mu is held.
func (f *Fake) throttled(action string) bool {
	f.calls[action]++
	t := f.throttle[action]
	if t == nil {
		return false
	}
	if t.Next > 0 {
		t.Next--
		return true
	}
	return t.Every > 0 && f.calls[action]%t.Every == 0
}

// injectedDependency reports whether the next call of a delete action gets an injected dependency
// error, and counts it down. f.mu is held.
func (f *Fake) injectedDependency(action string) bool {
	if f.depFails[action] <= 0 {
		return false
	}
	f.depFails[action]--
	return true
}

var errThrottled = &apiError{
	status:  http.StatusBadRequest,
	code:    "Throttling.User",
	message: "Request was denied due to user flow control.",
}
