using System.Buffers.Binary;

namespace Isaac.Core.Tests.Support;

/// <summary>
/// Counts the committed write transactions in a SQLite write-ahead log, from outside the connection that wrote them:
/// a WAL frame whose header has a non-zero "database size after commit" ends a transaction. Valid until the WAL is
/// checkpointed and restarted (a new salt), which a few hundred pages of writes do not reach.
/// </summary>
internal static class WalCommits
{
    public static int Count(string wal) => Read(wal).Commits;

    /// <summary>The committed transactions and the pages (frames) they wrote.</summary>
    public static (int Commits, int Frames) Read(string wal)
    {
        if (!File.Exists(wal))
        {
            return (0, 0);
        }

        using var file = new FileStream(wal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[32];
        if (file.Read(header, 0, header.Length) < header.Length)
        {
            return (0, 0);
        }

        var pageSize = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
        var salt = header.AsSpan(16, 8).ToArray();
        var frame = new byte[24];
        var (commits, frames) = (0, 0);
        while (file.Read(frame, 0, frame.Length) == frame.Length && frame.AsSpan(8, 8).SequenceEqual(salt))
        {
            frames++;
            if (BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(4)) != 0)
            {
                commits++;
            }

            file.Seek(pageSize, SeekOrigin.Current);
        }

        return (commits, frames);
    }
}
