using System.Threading.Channels;
using Isaac.Core.Internal;
using Microsoft.Extensions.Time.Testing;

namespace Isaac.Core.Tests.Internal;

public sealed class BackgroundLoopTests
{
    [Fact(Timeout = 15_000)]
    public async Task A_pass_that_throws_is_retried_after_a_back_off_and_the_loop_lives_on()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var passes = Channel.CreateUnbounded<int>();
        var count = 0;
        await using var loop = new BackgroundLoop("test", _ =>
        {
            var n = Interlocked.Increment(ref count);
            passes.Writer.TryWrite(n);
            return n == 1 ? throw new InvalidOperationException("boom") : Task.FromResult(TimeSpan.FromHours(1));
        }, time);

        // Act
        loop.Start();
        Assert.Equal(1, await passes.Reader.ReadAsync());
        await WaitUntil(() => loop.ConsecutiveFailures == 1);
        while (!passes.Reader.TryRead(out _))
        {
            time.Advance(TimeSpan.FromMilliseconds(100)); // the back-off is at most 1 s for a first failure
            await Task.Yield();
        }

        // Assert
        await WaitUntil(() => loop.ConsecutiveFailures == 0);
        Assert.Equal(2, count);
    }

    [Fact(Timeout = 15_000)]
    public async Task Many_wake_ups_during_a_pass_cause_exactly_one_more_pass()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var release = new TaskCompletionSource();
        var count = 0;
        BackgroundLoop? self = null;
        await using var loop = self = new BackgroundLoop("test", async _ =>
        {
            if (Interlocked.Increment(ref count) == 1)
            {
                for (var i = 0; i < 20; i++)
                {
                    self!.Wake();
                }

                await release.Task;
            }

            return TimeSpan.FromHours(1);
        }, time);

        // Act
        loop.Start();
        await WaitUntil(() => Volatile.Read(ref count) == 1);
        release.SetResult();
        await WaitUntil(() => Volatile.Read(ref count) == 2);
        for (var i = 0; i < 20; i++)
        {
            await Task.Yield();
        }

        // Assert
        Assert.Equal(2, Volatile.Read(ref count));
    }

    [Fact(Timeout = 15_000)]
    public async Task Dispose_ends_a_loop_that_is_waiting()
    {
        // Arrange
        var started = new TaskCompletionSource();
        var loop = new BackgroundLoop("test", _ =>
        {
            started.TrySetResult();
            return Task.FromResult(TimeSpan.FromHours(1));
        });
        loop.Start();
        await started.Task;

        // Act
        await loop.DisposeAsync();

        // Assert: reaching here is the assertion; a loop that ignored shutdown would hang the test past its timeout
        Assert.Equal(0, loop.ConsecutiveFailures);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(5);
        }
    }
}
