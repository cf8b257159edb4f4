using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Isaac.Core.Internal;

/// <summary>What Microsoft.Data.Sqlite, SQLitePCLRaw and .NET do not expose: a custom busy handler, fdatasync and a sub-millisecond sleep.</summary>
internal static unsafe partial class SqliteNative
{
    /// <summary>Installs <paramref name="busy"/> (count of tries so far → keep waiting) on the connection; it replaces busy_timeout.</summary>
    /// <returns>A handle that keeps <paramref name="busy"/> alive; free it after the connection is closed.</returns>
    public static GCHandle SetBusyHandler(SQLitePCL.sqlite3 db, Func<int, bool> busy)
    {
        var handle = GCHandle.Alloc(busy);
        var rc = sqlite3_busy_handler(db.DangerousGetHandle(), &OnBusy, GCHandle.ToIntPtr(handle));
        if (rc != 0)
        {
            handle.Free();
            throw new InvalidOperationException($"sqlite3_busy_handler failed with {rc}");
        }

        return handle;
    }

    /// <summary>
    /// Makes a file's written data durable: fdatasync(2) on Linux, as SQLite itself syncs its WAL (it skips the
    /// journal commit for a modification time when only overwritten data changed); fsync elsewhere.
    /// </summary>
    public static void FlushData(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(file);
            return;
        }

        while (fdatasync((int)file.DangerousGetHandle()) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != 4) // EINTR: try again
            {
                throw new IOException($"fdatasync failed with errno {errno}", errno);
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    /// <summary>Sleeps about <paramref name="microseconds"/> (Thread.Sleep's unit is the millisecond).</summary>
    public static void Nap(int microseconds)
    {
        if (OperatingSystem.IsWindows())
        {
            Thread.Sleep(Math.Max(1, microseconds / 1_000));
            return;
        }

        _ = usleep((uint)microseconds);
    }

    [LibraryImport("libc")]
    private static partial int usleep(uint microseconds);

    [LibraryImport("e_sqlite3")]
    private static partial int sqlite3_busy_handler(nint db, delegate* unmanaged[Cdecl]<nint, int, int> callback, nint argument);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnBusy(nint argument, int count)
    {
        try
        {
            return GCHandle.FromIntPtr(argument).Target is Func<int, bool> busy && busy(count) ? 1 : 0;
        }
        catch (Exception)
        {
            return 0; // nothing may unwind into SQLite: give up waiting, SQLite reports SQLITE_BUSY
        }
    }
}
