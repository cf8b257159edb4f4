using System.Text;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Security;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Queue;

/// <summary>
/// queue.db is not read whole at every open (that cost 214 ms at 100,000 rows for every isaac -c): damage is found when
/// a read meets it, or by the check of a file marked suspect; either way it is salvaged as before.
/// </summary>
public sealed class QueueDamageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string DbPath => StoreKinds.PathIn(StoreKind.Queue, _dir.Path);

    [Fact(Timeout = 60_000)]
    public async Task Damage_met_by_the_claim_is_salvaged_and_the_claim_runs_on_the_rescued_queue()
    {
        // Arrange: the page that holds command 250 overwritten.
        await StoreKinds.FillAsync(StoreKind.Queue, _dir.Path, 500);
        var (pageSize, _) = StoreKinds.Geometry(DbPath);
        StoreKinds.Damage(DbPath, pageSize, [PageOf(StoreKinds.Text(250), pageSize)], seed: 3);

        // Act
        var (notice, waiting) = await StoreKinds.OpenAsync(StoreKind.Queue, _dir.Path);

        // Assert
        Assert.NotNull(notice);
        Assert.StartsWith("queue.db was damaged", notice);
        Assert.DoesNotContain(StoreKinds.Text(250), waiting);
        Assert.Contains(StoreKinds.Text(0), waiting);
        Assert.Contains(StoreKinds.Text(499), waiting);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_clean_open_does_not_read_the_whole_file_but_a_file_marked_suspect_is_checked_and_salvaged()
    {
        // Arrange: damage on a page that opening and asking the status never read.
        await StoreKinds.FillAsync(StoreKind.Queue, _dir.Path, 500);
        var (pageSize, _) = StoreKinds.Geometry(DbPath);
        StoreKinds.Damage(DbPath, pageSize, [PageOf(StoreKinds.Text(250), pageSize)], seed: 5);

        // Act
        string? clean;
        await using (var queue = new CommandQueue(DbPath))
        {
            await queue.GetStatusAsync();
            clean = queue.RecoveryNotice;
        }

        await File.WriteAllTextAsync(SqliteStore.SuspectMarker(DbPath), "");
        string? suspect;
        await using (var queue = new CommandQueue(DbPath))
        {
            await queue.GetStatusAsync();
            suspect = queue.RecoveryNotice;
        }

        // Assert
        Assert.Null(clean);
        Assert.NotNull(suspect);
        Assert.Contains("integrity check", suspect);
        Assert.False(File.Exists(SqliteStore.SuspectMarker(DbPath)));
    }

    private int PageOf(string text, int pageSize)
    {
        var bytes = File.ReadAllBytes(DbPath);
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text));
        Assert.True(at > 0, "row not found in the file");
        return (at / pageSize) + 1;
    }
}
