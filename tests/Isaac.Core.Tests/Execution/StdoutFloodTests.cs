using System.Diagnostics;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Tests.Fuzz;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Execution;

/// <summary>
/// Measures the whole process's allocations while a handler floods stdout, so it runs alone: any test running
/// beside it would count against the cap.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class StdoutFloodTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly OutOfProcessRunner _runner = new();

    public void Dispose() => _dir.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task A_gigabyte_flood_on_stdout_is_capped_and_the_handler_stopped()
    {
        // Arrange
        var command = await TestManifests.LoadAsync(TestManifests.Handler(_dir.Path, "flood", "flood", 1L << 30, timeoutMs: 20_000, maxStdoutKib: 64));
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();

        // Act
        var ex = await Assert.ThrowsAsync<HandlerException>(() => _runner.RunAsync(command, Some.Request(command)));

        // Assert
        Assert.Equal(ErrorCode.OutputTruncated, ex.Failure);
        Assert.Equal(64 * 1024, ex.PartialStdout.Length);
        Assert.All(ex.PartialStdout, c => Assert.Equal('x', c));
        // Stopped at the cap, long before a gigabyte went through (which takes seconds on this machine).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 64L * 1024 * 1024, $"allocated {allocated / 1024 / 1024} MiB while capping");
    }
}
