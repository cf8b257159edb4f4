using System.Text.RegularExpressions;
using Isaac.Core.Queue;
using Isaac.Core.Tests.Support;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Security;

/// <summary>
/// queue.db, agent.db and hub.db against damage and the mistakes a person can make with files: every case on real
/// SQLite files, through each store's own class.
/// </summary>
public sealed partial class StoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_store_with_damaged_pages_is_moved_aside_and_every_readable_row_is_kept_and_usable(StoreKind kind)
    {
        // Arrange: 500 commands, then three pages in the middle of the file overwritten with garbage.
        await StoreKinds.FillAsync(kind, _dir.Path, 500);
        var path = StoreKinds.PathIn(kind, _dir.Path);
        var (pageSize, pages) = StoreKinds.Geometry(path);
        StoreKinds.Damage(path, pageSize, [pages / 2, (pages / 2) + 1, (pages / 2) + 3], seed: 7);
        var damaged = await File.ReadAllBytesAsync(path);

        // Act
        var (notice, waiting) = await StoreKinds.OpenAsync(kind, _dir.Path);

        // Assert: one line says what happened and how much was kept; the damaged file is kept as it was.
        Assert.NotNull(notice);
        Assert.DoesNotContain('\n', notice);
        var match = KeptPattern().Match(notice);
        Assert.True(match.Success, notice);
        var kept = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("500", match.Groups[2].Value);
        Assert.InRange(kept, 1, 500);
        Assert.StartsWith($"{StoreKinds.FileName(kind)} was damaged", notice);
        var aside = Assert.Single(Directory.GetFiles(_dir.Path, StoreKinds.FileName(kind) + ".corrupt-*"), f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        Assert.Contains(aside, notice);
        Assert.Equal(damaged, await File.ReadAllBytesAsync(aside));

        // The kept commands are there, in their order, and still run (are claimed, delivered) as before.
        Assert.Equal(kept, waiting.Count);
        var all = Enumerable.Range(0, 500).Select(StoreKinds.Text).ToList();
        Assert.Equal(waiting.OrderBy(all.IndexOf), waiting);
        Assert.All(waiting, text => Assert.Contains(text, all));

        // And the fresh store takes new work and opens cleanly next time.
        await StoreKinds.WriteOneAsync(kind, _dir.Path, "/after-salvage");
        var (again, after) = await StoreKinds.OpenAsync(kind, _dir.Path);
        Assert.Null(again);
        Assert.Equal(kept + 1, after.Count);
    }

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_file_of_random_bytes_is_moved_aside_untouched_and_a_fresh_store_started(StoreKind kind)
    {
        // Arrange
        var path = StoreKinds.PathIn(kind, _dir.Path);
        var garbage = new byte[64 * 1024];
        new Random(42).NextBytes(garbage);
        await File.WriteAllBytesAsync(path, garbage);

        // Act
        await StoreKinds.WriteOneAsync(kind, _dir.Path, "/after-recovery");
        var (_, waiting) = await StoreKinds.OpenAsync(kind, _dir.Path);

        // Assert
        var aside = Assert.Single(Directory.GetFiles(_dir.Path, StoreKinds.FileName(kind) + ".corrupt-*"));
        Assert.Equal(garbage, await File.ReadAllBytesAsync(aside));
        Assert.Equal(["/after-recovery"], waiting);
    }

    [Theory]
    [InlineData(StoreKind.Queue, 0)]
    [InlineData(StoreKind.Agent, 0)]
    [InlineData(StoreKind.Hub, 0)]
    [InlineData(StoreKind.Queue, 0x0F0F0F0F)]
    [InlineData(StoreKind.Hub, 0x0F0F0F0F)]
    public async Task A_foreign_sqlite_database_is_refused_with_one_line_and_left_byte_identical(StoreKind kind, int applicationId)
    {
        // Arrange
        var path = StoreKinds.PathIn(kind, _dir.Path);
        StoreKinds.WriteForeign(path, applicationId);
        var before = await File.ReadAllBytesAsync(path);

        // Act
        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(kind, _dir.Path, "/x"));

        // Assert
        Assert.Equal(StoreFailure.Foreign, ex.Failure);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Contains(applicationId == 0 ? "photos" : "another program", ex.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.False(File.Exists(path + "-wal"));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.corrupt-*"));
    }

    [Fact]
    public async Task Another_isaac_store_in_the_queue_s_place_is_refused_and_named()
    {
        // Arrange: a hub.db copied over queue.db.
        var hubFolder = _dir.Combine("hub");
        await StoreKinds.FillAsync(StoreKind.Hub, hubFolder, 3);
        var path = StoreKinds.PathIn(StoreKind.Queue, _dir.Path);
        File.Copy(StoreKinds.PathIn(StoreKind.Hub, hubFolder), path);
        var before = await File.ReadAllBytesAsync(path);

        // Act
        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(StoreKind.Queue, _dir.Path, "/x"));

        // Assert
        Assert.Equal(StoreFailure.Foreign, ex.Failure);
        Assert.Contains("Isaac's hub database", ex.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
    }

    [Theory]
    [InlineData(StoreKind.Queue, StoreSchema.QueueId)]
    [InlineData(StoreKind.Agent, StoreSchema.AgentId)]
    [InlineData(StoreKind.Hub, StoreSchema.HubId)]
    public async Task A_store_made_before_stamping_is_adopted_and_stamped_and_a_new_one_is_stamped(StoreKind kind, int applicationId)
    {
        // Arrange: a store as an older Isaac left it (no application_id).
        await StoreKinds.FillAsync(kind, _dir.Path, 3);
        var path = StoreKinds.PathIn(kind, _dir.Path);
        Assert.Equal(applicationId, ApplicationId(path));
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            connection.Execute("PRAGMA application_id = 0;");
        }

        // Act
        var (notice, waiting) = await StoreKinds.OpenAsync(kind, _dir.Path);

        // Assert
        Assert.Null(notice);
        Assert.Equal(3, waiting.Count);
        Assert.Equal(applicationId, ApplicationId(path));
    }

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_store_from_a_newer_isaac_is_refused_and_not_changed(StoreKind kind)
    {
        // Arrange
        await StoreKinds.FillAsync(kind, _dir.Path, 2);
        var path = StoreKinds.PathIn(kind, _dir.Path);
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            connection.Execute("PRAGMA user_version = 99;");
        }

        var before = await File.ReadAllBytesAsync(path);

        // Act
        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(kind, _dir.Path, "/x"));

        // Assert
        Assert.Equal(StoreFailure.Newer, ex.Failure);
        Assert.Contains("schema version 99", ex.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
    }

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_read_only_store_file_gets_one_line_and_is_not_changed(StoreKind kind)
    {
        // Arrange
        await StoreKinds.FillAsync(kind, _dir.Path, 2);
        var path = StoreKinds.PathIn(kind, _dir.Path);
        var before = await File.ReadAllBytesAsync(path);

        // Act
        StoreException ex;
        using (new ReadOnlyPath(path))
        {
            ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(kind, _dir.Path, "/x"));
        }

        // Assert
        Assert.Equal(StoreFailure.ReadOnly, ex.Failure);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains($"{StoreKinds.FileName(kind)} is read-only ({path})", ex.Message);
        if (kind == StoreKind.Queue)
        {
            Assert.StartsWith("Not queued: queue.db is read-only", ex.Message);
            Assert.Contains("Nothing was sent.", ex.Message);
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Equal(2, (await StoreKinds.OpenAsync(kind, _dir.Path)).Waiting.Count);
    }

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_read_only_folder_gets_one_line_naming_the_folder(StoreKind kind)
    {
        // Arrange
        var folder = _dir.Combine("home");
        await StoreKinds.FillAsync(kind, folder, 2);

        // Act
        StoreException ex;
        using (new ReadOnlyPath(folder))
        {
            ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(kind, folder, "/x"));
        }

        // Assert
        Assert.Equal(StoreFailure.ReadOnlyFolder, ex.Failure);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains($"is read-only ({folder})", ex.Message);
        Assert.Equal(2, (await StoreKinds.OpenAsync(kind, folder)).Waiting.Count);
    }

    [Theory]
    [InlineData(StoreKind.Queue)]
    [InlineData(StoreKind.Agent)]
    [InlineData(StoreKind.Hub)]
    public async Task A_folder_where_the_file_should_be_gets_one_line(StoreKind kind)
    {
        // Arrange
        var path = StoreKinds.PathIn(kind, _dir.Path);
        Directory.CreateDirectory(path);

        // Act
        var ex = await Assert.ThrowsAsync<StoreException>(() => StoreKinds.WriteOneAsync(kind, _dir.Path, "/x"));

        // Assert
        Assert.Equal(StoreFailure.NotAFile, ex.Failure);
        Assert.Contains($"{path} is a folder", ex.Message);
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public async Task A_full_disk_while_queuing_says_not_queued_and_keeps_what_was_queued()
    {
        // Arrange: the queue's own connection may not grow its file (fault injection for SQLITE_FULL).
        var path = StoreKinds.PathIn(StoreKind.Queue, _dir.Path);
        await using var queue = new CommandQueue(path);
        await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = "/first", Target = StoreKinds.Target });
        var store = queue.Store!;
        store.Connection.Execute($"PRAGMA max_page_count = {store.Connection.Scalar<long>("PRAGMA page_count;")};");

        // Act
        var ex = await Assert.ThrowsAsync<StoreException>(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = StoreKinds.Text(i), Target = StoreKinds.Target });
            }
        });

        // Assert
        Assert.Equal(StoreFailure.DiskFull, ex.Failure);
        Assert.StartsWith("Not queued: the disk is full: queue.db could not grow", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        var status = await queue.GetStatusAsync();
        Assert.True(status.Pending >= 1);
    }

    private static long ApplicationId(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection.Scalar<long>("PRAGMA application_id;");
    }

    [GeneratedRegex(@"kept (\d+) of (\d+) ")]
    private static partial Regex KeptPattern();
}
