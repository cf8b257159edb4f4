using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Queue;

/// <summary>What the queue's streams tell the person: dead letters as they happen, and a count made of their own routed commands only.</summary>
public sealed class QueueSignalTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 15_000)]
    public async Task A_command_that_moves_to_the_dead_letters_is_announced_with_its_reason_and_how_to_retry()
    {
        // Arrange
        await using var queue = new CommandQueue(_dir.Combine("queue.db"), QueueOptions.Default with { MaxAttempts = 2 }, _clock);
        var old = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/old", Target = "nas" })).Id;
        await queue.ClaimAsync();
        await queue.MarkFailedAsync(old, "gone before", permanent: true);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var notice = queue.DeadLetters.FirstAsync().ToTask();
        var id = (await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/status", Target = "laptop2" })).Id;
        await queue.ClaimAsync();

        // Act
        _clock.Advance(TimeSpan.FromSeconds(1));
        await queue.MarkFailedAsync(id, "the hub refused it: no device named 'laptop2' is registered with the hub", permanent: true);
        var dead = await notice;

        // Assert: the one that died before we watched is not announced again
        Assert.Equal(id, dead.Id);
        Assert.Equal($"#{id} for laptop2 '/status' moved to the dead letters: the hub refused it: no device named 'laptop2' is registered with the hub. /queue dead lists it; /queue retry {id} tries again.", dead.ToString());
    }

    [Fact(Timeout = 15_000)]
    public async Task Shared_history_never_counts_as_queued_work()
    {
        // Arrange
        await using var queue = new CommandQueue(_dir.Combine("queue.db"), QueueOptions.Default, _clock);

        // Act
        await queue.ShareHistoryAsync("ls -la");
        await queue.ShareHistoryAsync("git status");
        var status = await queue.GetStatusAsync();
        var history = await queue.PeekHistoryAsync(10);
        await queue.ForgetHistoryAsync(history[0].Id);

        // Assert
        Assert.Equal(0, status.Queued);
        Assert.Equal(["ls -la", "git status"], history.Select(h => h.Text));
        Assert.Equal(["git status"], (await queue.PeekHistoryAsync(10)).Select(h => h.Text));
    }
}
