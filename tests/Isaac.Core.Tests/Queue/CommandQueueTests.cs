using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Queue;

public sealed class CommandQueueTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
    private CommandQueue _queue = null!;

    private string DbPath => _dir.Combine("queue.db");

    public Task InitializeAsync()
    {
        // Random 0.5 makes the jitter factor exactly 0.75.
        _queue = new CommandQueue(DbPath, QueueOptions.Default, _clock, new FixedRandom(0.5));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _queue.DisposeAsync();
        _dir.Dispose();
    }

    private Task<EnqueueResult> EnqueueAsync(string text, string? target = "laptop2", bool parallel = false, TimeSpan? ttl = null, string? coalesce = null) =>
        _queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = text, Target = target, Parallel = parallel, TimeToLive = ttl, CoalesceKey = coalesce });

    private async Task<long[]> ClaimIdsAsync(int maxBatch = 100) =>
        (await _queue.ClaimAsync(maxBatch)).SelectMany(b => b.Commands).Select(c => c.Id).ToArray();

    [Fact]
    public async Task Enqueued_commands_get_increasing_ids_and_are_listed_oldest_first()
    {
        // Act
        var first = await EnqueueAsync("/status");
        var second = await EnqueueAsync("/sysinfo", target: null);

        // Assert
        Assert.True(second.Id > first.Id);
        var listed = await _queue.ListAsync(QueueView.Pending, 10);
        Assert.Equal(["/status", "/sysinfo"], listed.Select(c => c.Text));
        Assert.Equal("laptop2", listed[0].Target);
        Assert.Null(listed[1].Target);
        Assert.Equal(_clock.GetUtcNow(), listed[0].QueuedAt);
        Assert.Equal(new QueueStatus { Pending = 2 }, await _queue.GetStatusAsync());
    }

    [Fact]
    public async Task A_targets_commands_travel_together_in_order_and_block_it_while_in_flight()
    {
        var a = await EnqueueAsync("/a");
        var b = await EnqueueAsync("/b");

        var first = await ClaimIdsAsync();
        var whileInFlight = await ClaimIdsAsync();
        await _queue.MarkDoneAsync(first);
        var c = await EnqueueAsync("/c");
        var next = await ClaimIdsAsync();

        Assert.Equal([a.Id, b.Id], first);
        Assert.Empty(whileInFlight);
        Assert.Equal([c.Id], next);
    }

    [Fact]
    public async Task Sequential_and_parallel_commands_are_claimed_together_with_their_flags_the_device_keeps_the_barriers()
    {
        var p1 = await EnqueueAsync("/p1", parallel: true);
        var p2 = await EnqueueAsync("/p2", parallel: true);
        var s = await EnqueueAsync("/s");
        var p3 = await EnqueueAsync("/p3", parallel: true);

        var batch = Assert.Single(await _queue.ClaimAsync()).Commands;

        Assert.Equal([p1.Id, p2.Id, s.Id, p3.Id], batch.Select(c => c.Id));
        Assert.Equal([true, true, false, true], batch.Select(c => c.Parallel));
    }

    [Fact]
    public async Task A_parallel_batch_respects_the_batch_limit()
    {
        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync($"/p{i}", parallel: true);
        }

        var ids = await ClaimIdsAsync(maxBatch: 3);

        Assert.Equal(3, ids.Length);
    }

    [Fact]
    public async Task Each_target_is_its_own_fifo_line()
    {
        var l1 = await EnqueueAsync("/l1", target: "laptop");
        var d1 = await EnqueueAsync("/d1", target: "desktop");
        var l2 = await EnqueueAsync("/l2", target: "laptop");
        var mine = await EnqueueAsync("/local", target: null);

        var batches = await _queue.ClaimAsync();

        Assert.Equal(3, batches.Count);
        Assert.Equal([l1.Id, l2.Id], batches.Single(b => b.Target == "laptop").Commands.Select(c => c.Id));
        Assert.Equal([d1.Id], batches.Single(b => b.Target == "desktop").Commands.Select(c => c.Id));
        Assert.Equal([mine.Id], batches.Single(b => b.Target is null).Commands.Select(c => c.Id));
    }

    [Fact]
    public async Task A_failed_head_waits_out_its_backoff_without_blocking_other_targets()
    {
        var head = await EnqueueAsync("/head", target: "laptop");
        await EnqueueAsync("/behind", target: "laptop");
        await ClaimIdsAsync();
        var other = await EnqueueAsync("/other", target: "desktop");

        var retryAt = await _queue.MarkFailedAsync(head.Id, "hub said 503");
        var duringBackoff = await ClaimIdsAsync();
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        var afterBackoff = await ClaimIdsAsync();

        Assert.Equal(_clock.GetUtcNow(), retryAt);
        Assert.Equal([other.Id], duringBackoff);
        Assert.Equal([head.Id], afterBackoff);
    }

    [Fact]
    public async Task Backoff_doubles_per_failure_with_jitter_and_is_capped_at_300_seconds()
    {
        // Arrange: many attempts allowed, so the cap is reached.
        await using var queue = new CommandQueue(_dir.Combine("backoff.db"), QueueOptions.Default with { MaxAttempts = 20 }, _clock, new FixedRandom(0.5));
        var id = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Meta, Text = "/flaky" })).Id;
        var delays = new List<double>();

        // Act
        for (var failure = 1; failure <= 10; failure++)
        {
            var start = _clock.GetUtcNow();
            var next = await queue.MarkFailedAsync(id, $"failure {failure}");
            delays.Add((next!.Value - start).TotalSeconds);
            _clock.Advance(next.Value - start);
        }

        // Assert: 2 s · 2^(n-1), capped at 300 s, times the jitter factor 0.75.
        Assert.Equal([1.5, 3, 6, 12, 24, 48, 96, 192, 225, 225], delays);
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.999999, 2.0)]
    public void Jitter_keeps_the_delay_between_half_and_all_of_the_exponential_step(double random, double expectedSeconds)
    {
        var delay = Backoff.Delay(1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(300), new FixedRandom(random));

        Assert.Equal(expectedSeconds, delay.TotalSeconds, precision: 3);
    }

    [Fact]
    public async Task After_the_maximum_attempts_a_command_moves_to_the_dead_letters_with_its_final_error()
    {
        var id = (await EnqueueAsync("/doomed")).Id;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            _clock.Advance(TimeSpan.FromMinutes(10));
            Assert.Equal([id], await ClaimIdsAsync());
            await _queue.MarkFailedAsync(id, $"refused {attempt}");
        }

        var dead = Assert.Single(await _queue.ListAsync(QueueView.Dead, 10));
        Assert.Equal(id, dead.Id);
        Assert.Equal("refused 3", dead.LastError);
        Assert.Equal(3, dead.Attempts);
        Assert.Equal("dead", dead.Status);
        Assert.Empty(await _queue.ListAsync(QueueView.Pending, 10));
        Assert.Equal(new QueueStatus { Dead = 1 }, await _queue.GetStatusAsync());
    }

    [Fact]
    public async Task A_retried_dead_letter_comes_back_with_its_id_and_unique_key()
    {
        var request = new EnqueueRequest { Type = CommandType.Meta, Text = "/again", UniqueKey = "key-1" };
        var id = (await _queue.EnqueueAsync(request)).Id;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            _clock.Advance(TimeSpan.FromMinutes(10));
            await ClaimIdsAsync();
            await _queue.MarkFailedAsync(id, "nope");
        }

        var retried = await _queue.RetryAsync(id);
        var claimed = Assert.Single(Assert.Single(await _queue.ClaimAsync()).Commands);

        Assert.Equal(1, retried);
        Assert.Equal(id, claimed.Id);
        Assert.Equal("key-1", claimed.UniqueKey);
        Assert.Equal(0, claimed.Attempts);
        Assert.Empty(await _queue.ListAsync(QueueView.Dead, 10));
    }

    [Fact]
    public async Task Retry_all_makes_failed_commands_due_now()
    {
        var a = await EnqueueAsync("/a", target: "x");
        var b = await EnqueueAsync("/b", target: "y");
        await ClaimIdsAsync();
        await _queue.MarkFailedAsync(a.Id, "down");
        await _queue.MarkFailedAsync(b.Id, "down");
        Assert.Equal(2, (await _queue.ListAsync(QueueView.Failed, 10)).Count);

        var retried = await _queue.RetryAsync(null);

        Assert.Equal(2, retried);
        Assert.Equal(2, (await ClaimIdsAsync()).Length);
    }

    [Fact]
    public async Task Drop_removes_a_waiting_or_dead_command_but_not_one_in_flight()
    {
        var waiting = await EnqueueAsync("/wait", target: "a");
        var inFlight = await EnqueueAsync("/fly", target: "b");
        await _queue.ClaimAsync();
        var c = await EnqueueAsync("/c", target: "a");

        Assert.False(await _queue.DropAsync(inFlight.Id));
        Assert.False(await _queue.DropAsync(9999));
        Assert.True(await _queue.DropAsync(c.Id));
        Assert.Equal([waiting.Id, inFlight.Id], (await _queue.ListAsync(QueueView.Pending, 10)).Select(q => q.Id));
    }

    [Fact]
    public async Task A_command_past_its_time_to_live_expires_to_the_dead_letters_instead_of_running_late()
    {
        var expiring = await EnqueueAsync("/status", ttl: TimeSpan.FromMinutes(1));
        var behind = await EnqueueAsync("/after");

        _clock.Advance(TimeSpan.FromSeconds(61));
        var claimed = await ClaimIdsAsync();

        Assert.Equal([behind.Id], claimed);
        var dead = Assert.Single(await _queue.ListAsync(QueueView.Dead, 10));
        Assert.Equal(expiring.Id, dead.Id);
        Assert.StartsWith("expired", dead.LastError);
    }

    [Fact]
    public async Task Coalescing_keeps_only_the_newest_waiting_command_per_key_and_target()
    {
        await EnqueueAsync("/status 1", coalesce: "status");
        var other = await EnqueueAsync("/status elsewhere", target: "desktop", coalesce: "status");
        var newest = await EnqueueAsync("/status 2", coalesce: "status");

        Assert.Equal(1, newest.Coalesced);
        Assert.Equal([other.Id, newest.Id], (await _queue.ListAsync(QueueView.Pending, 10)).Select(c => c.Id));
    }

    [Fact]
    public async Task Coalescing_never_touches_a_command_already_in_flight()
    {
        var first = await EnqueueAsync("/status 1", coalesce: "status");
        await ClaimIdsAsync();

        var second = await EnqueueAsync("/status 2", coalesce: "status");

        Assert.Equal(0, second.Coalesced);
        Assert.Equal([first.Id, second.Id], (await _queue.ListAsync(QueueView.Pending, 10)).Select(c => c.Id));
    }

    [Fact]
    public async Task Commands_left_syncing_for_over_five_minutes_are_made_pending_again()
    {
        var id = (await EnqueueAsync("/stuck")).Id;
        await ClaimIdsAsync();

        _clock.Advance(TimeSpan.FromMinutes(4));
        var early = await _queue.HousekeepAsync();
        _clock.Advance(TimeSpan.FromMinutes(2));
        var late = await _queue.HousekeepAsync();

        Assert.Equal(0, early.Reset);
        Assert.Equal(1, late.Reset);
        Assert.Equal([id], await ClaimIdsAsync());
    }

    [Fact]
    public async Task Delivered_commands_are_purged_after_seven_days_and_the_last_sync_is_kept()
    {
        var id = (await EnqueueAsync("/old")).Id;
        await ClaimIdsAsync();
        await _queue.MarkDoneAsync([id]);
        var syncedAt = _clock.GetUtcNow();

        _clock.Advance(TimeSpan.FromDays(8));
        var housekeeping = await _queue.HousekeepAsync();

        Assert.Equal(1, housekeeping.Purged);
        Assert.Equal(new QueueStatus { LastSyncAt = syncedAt }, await _queue.GetStatusAsync());
    }

    [Fact]
    public async Task Past_the_soft_limit_the_queue_still_accepts_and_says_so()
    {
        await using var queue = new CommandQueue(_dir.Combine("small.db"), QueueOptions.Default with { SoftLimit = 2 }, _clock);
        var results = new List<EnqueueResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.Shell, Text = $"echo {i}" }));
        }

        Assert.Equal([false, false, true], results.Select(r => r.OverSoftLimit));
        Assert.Equal(3, (await queue.GetStatusAsync()).Pending);
    }

    [Fact]
    public async Task A_corrupt_database_is_moved_aside_and_a_fresh_one_started()
    {
        // Arrange
        var garbage = new byte[8192];
        new Random(42).NextBytes(garbage);
        await File.WriteAllBytesAsync(DbPath, garbage);

        // Act
        var result = await EnqueueAsync("/after-recovery");

        // Assert
        Assert.Equal(1, result.Id);
        Assert.NotNull(_queue.RecoveryNotice);
        var aside = Assert.Single(Directory.GetFiles(_dir.Path, "queue.db.corrupt-*"));
        Assert.Contains(aside, _queue.RecoveryNotice);
        Assert.Equal(garbage, await File.ReadAllBytesAsync(aside));
    }

    [Fact]
    public async Task A_database_from_a_newer_isaac_is_refused_not_overwritten()
    {
        await using (var newer = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await newer.OpenAsync();
            using var command = newer.CreateCommand();
            command.CommandText = $"PRAGMA application_id = {StoreSchema.QueueId}; PRAGMA user_version = 99;";
            await command.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<StoreException>(() => _queue.GetStatusAsync());

        Assert.Equal(StoreFailure.Newer, ex.Failure);
        Assert.Contains("schema version 99", ex.Message);
    }
}
