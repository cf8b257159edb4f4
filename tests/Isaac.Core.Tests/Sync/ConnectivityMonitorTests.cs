using System.Diagnostics;
using System.Reactive.Linq;
using Isaac.Core.Sync;
using Isaac.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Sync;

public sealed class ConnectivityMonitorTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Offline_with_work_waiting_probes_from_about_a_second_backing_off_to_8_seconds()
    {
        // Arrange: jitter factor fixed at 0.75.
        var monitor = new ConnectivityMonitor(_ => Task.FromResult(false), ConnectivityOptions.Default, _clock, new FixedRandom(0.5)) { WorkWaiting = true };
        var delays = new List<double>();

        // Act
        for (var failure = 0; failure < 8; failure++)
        {
            monitor.Report(false, "refused");
            delays.Add(monitor.NextProbeDelay().TotalSeconds);
        }

        // Assert
        Assert.Equal([0.75, 1.5, 3, 6, 6, 6, 6, 6], delays);
    }

    [Fact]
    public void Online_or_with_nothing_waiting_it_probes_every_30_seconds()
    {
        var monitor = new ConnectivityMonitor(_ => Task.FromResult(true), ConnectivityOptions.Default, _clock);

        monitor.Report(false, "refused");
        var offlineIdle = monitor.NextProbeDelay();
        monitor.Report(true, "answered");
        monitor.WorkWaiting = true;
        var online = monitor.NextProbeDelay();

        Assert.Equal(TimeSpan.FromSeconds(30), offlineIdle);
        Assert.Equal(TimeSpan.FromSeconds(30), online);
    }

    [Fact]
    public void Every_real_call_turns_the_state_at_once_and_only_changes_are_published()
    {
        var monitor = new ConnectivityMonitor(_ => Task.FromResult(true), ConnectivityOptions.Default, _clock);
        var seen = new List<Connectivity>();
        using var subscription = monitor.Changes.Subscribe(seen.Add);

        monitor.Report(true, "route accepted");
        _clock.Advance(TimeSpan.FromSeconds(5));
        monitor.Report(true, "route accepted");
        monitor.Report(false, "connection refused");
        monitor.Report(false, "connection refused");

        Assert.Equal([false, true, false], seen.Select(s => s.Online));
        Assert.Equal("connection refused", seen[^1].Reason);
        Assert.Equal(_clock.GetUtcNow(), seen[^1].Since);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_probe_loop_follows_its_schedule_in_virtual_time_and_wakes_early_when_asked()
    {
        // Arrange
        var probes = 0;
        var monitor = new ConnectivityMonitor(_ => { Interlocked.Increment(ref probes); return Task.FromResult(false); }, ConnectivityOptions.Default, _clock, new FixedRandom(0.5));
        await using var _ = monitor;

        // Act & Assert: one probe at start, none while the 30 s idle wait runs, one when woken.
        monitor.Start();
        await WaitForAsync(() => probes == 1);
        _clock.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(100);
        Assert.Equal(1, probes);
        monitor.WorkWaiting = true;
        monitor.ProbeSoon();
        await WaitForAsync(() => probes == 2);

        // The loop's timer may start just after this point: advance in small steps until the backed-off probe runs.
        for (var step = 0; step < 200 && probes < 3; step++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10);
        }

        Assert.Equal(3, probes);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_burst_of_wake_ups_makes_at_most_one_early_probe_per_second()
    {
        // Arrange
        var probes = 0;
        var monitor = new ConnectivityMonitor(_ => { Interlocked.Increment(ref probes); return Task.FromResult(false); }, ConnectivityOptions.Default, _clock, new FixedRandom(0.5));
        await using var _ = monitor;
        monitor.Start();
        await WaitForAsync(() => probes == 1);

        // Act: twenty queue changes in the same instant as the last probe, then twenty more a second later
        for (var i = 0; i < 20; i++)
        {
            monitor.ProbeSoon();
        }

        await Task.Delay(100);
        var sameInstant = probes;
        _clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 20; i++)
        {
            monitor.ProbeSoon();
        }

        await WaitForAsync(() => probes == 2);
        await Task.Delay(100);

        // Assert
        Assert.Equal(1, sameInstant);
        Assert.Equal(2, probes);
    }

    // Real time, generous: under a full parallel test run the monitor's loop can wait seconds for a thread-pool thread
    // (2 s was not enough once); the fake clock alone decides when a probe is due.
    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition() && deadline.Elapsed < TimeSpan.FromSeconds(6))
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
