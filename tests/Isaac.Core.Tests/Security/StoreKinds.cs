using Isaac.Core.Devices;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Isaac.Hub;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Security;

/// <summary>The three stores, driven through their own classes, so one test covers all of them.</summary>
public enum StoreKind
{
    Queue,
    Agent,
    Hub,
}

/// <summary>Fills a store with known rows, opens it the way Isaac does, and reads back what a user of it would get.</summary>
internal static class StoreKinds
{
    public const string Target = "laptop2";

    public static string FileName(StoreKind kind) => kind switch
    {
        StoreKind.Queue => "queue.db",
        StoreKind.Agent => "agent.db",
        _ => "hub.db",
    };

    public static string PathIn(StoreKind kind, string folder) => Path.Combine(folder, FileName(kind));

    /// <summary>Row i's text: padded so that a few hundred rows span many pages, with a marker the tests can find in the file.</summary>
    public static string Text(int i) => $"/cmd row-{i:D5}-marker {new string((char)('a' + (i % 26)), 120)}";

    public static async Task FillAsync(StoreKind kind, string folder, int rows)
    {
        switch (kind)
        {
            case StoreKind.Queue:
                await using (var queue = new CommandQueue(PathIn(kind, folder)))
                {
                    for (var i = 0; i < rows; i++)
                    {
                        await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = Text(i), Target = Target });
                    }
                }

                break;
            case StoreKind.Agent:
                using (var agent = new AgentStore(PathIn(kind, folder)))
                {
                    for (var i = 0; i < rows; i++)
                    {
                        agent.Receive($"id-{i:D5}", "laptop1", Text(i), i + 1, parallel: false);
                    }
                }

                break;
            default:
                using (var hub = new HubStore(folder))
                {
                    hub.CreateMany("laptop1", [.. Enumerable.Range(0, rows).Select(i => new RouteBody { Target = Target, Text = Text(i), UniqueKey = $"key-{i:D5}" })]);
                }

                break;
        }
    }

    /// <summary>Opens the store as Isaac does and returns its recovery notice and the texts of the commands still waiting (what would run or be delivered next).</summary>
    public static async Task<(string? Notice, IReadOnlyList<string> Waiting)> OpenAsync(StoreKind kind, string folder)
    {
        switch (kind)
        {
            case StoreKind.Queue:
                await using (var queue = new CommandQueue(PathIn(kind, folder)))
                {
                    // Claimed as the sync would, then put back: the store is left as it was.
                    var claimed = (await queue.ClaimAsync(maxBatch: 10_000)).SelectMany(b => b.Commands).ToList();
                    await queue.ReleaseAsync([.. claimed.Select(c => c.Id)]);
                    return (queue.RecoveryNotice, [.. claimed.Select(c => c.Text)]);
                }

            case StoreKind.Agent:
                using (var agent = new AgentStore(PathIn(kind, folder)))
                {
                    return (agent.RecoveryNotice, [.. agent.InState(AgentStore.Received).Select(a => a.Text)]);
                }

            default:
                using (var hub = new HubStore(folder))
                {
                    return (hub.RecoveryNotice, [.. hub.NextWaiting(Target, 0, int.MaxValue).Select(r => r.Text)]);
                }
        }
    }

    /// <summary>Writes one more command through the store's own class.</summary>
    public static async Task WriteOneAsync(StoreKind kind, string folder, string text)
    {
        switch (kind)
        {
            case StoreKind.Queue:
                await using (var queue = new CommandQueue(PathIn(kind, folder)))
                {
                    await queue.EnqueueAsync(new EnqueueRequest { Type = CommandType.DeviceRoute, Text = text, Target = Target });
                }

                break;
            case StoreKind.Agent:
                using (var agent = new AgentStore(PathIn(kind, folder)))
                {
                    agent.Receive(Guid.NewGuid().ToString("N"), "laptop1", text, null, parallel: false);
                }

                break;
            default:
                using (var hub = new HubStore(folder))
                {
                    hub.Create("laptop1", new RouteBody { Target = Target, Text = text, UniqueKey = Guid.NewGuid().ToString("N") });
                }

                break;
        }
    }

    /// <summary>A foreign SQLite database (another program's) at <paramref name="path"/>.</summary>
    public static void WriteForeign(string path, int applicationId = 0)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        connection.Execute($"PRAGMA application_id = {applicationId}; CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat.jpg'), ('dog.jpg');");
    }

    /// <summary>The page size and the pages of <paramref name="path"/>, for damaging whole pages.</summary>
    public static (int PageSize, int Pages) Geometry(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return ((int)connection.Scalar<long>("PRAGMA page_size;"), (int)connection.Scalar<long>("PRAGMA page_count;"));
    }

    /// <summary>Overwrites whole pages (1-based) with random bytes.</summary>
    public static void Damage(string path, int pageSize, IEnumerable<int> pages, int seed)
    {
        var random = new Random(seed);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        foreach (var page in pages)
        {
            var garbage = new byte[pageSize];
            random.NextBytes(garbage);
            file.Position = (long)(page - 1) * pageSize;
            file.Write(garbage);
        }
    }
}
