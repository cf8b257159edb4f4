namespace Isaac.Core;

/// <summary>Why one of Isaac's SQLite files could not be used.</summary>
public enum StoreFailure
{
    /// <summary>The file is read-only (file mode, an immutable file or a read-only mount).</summary>
    ReadOnly,

    /// <summary>The folder that holds the file is read-only, so SQLite cannot create its journal beside it.</summary>
    ReadOnlyFolder,

    /// <summary>SQLITE_FULL: the disk (or the file's size limit) is full.</summary>
    DiskFull,

    /// <summary>A folder (or another non-file) stands where the file should be.</summary>
    NotAFile,

    /// <summary>This user may not read the file or its folder.</summary>
    PermissionDenied,

    /// <summary>A SQLite database that is not this Isaac store (another program's, or another Isaac store's); left untouched.</summary>
    Foreign,

    /// <summary>The store was written by a newer Isaac (its schema version is higher than this build knows).</summary>
    Newer,

    /// <summary>Another process held the lock longer than the busy timeout.</summary>
    Busy,

    /// <summary>The file is damaged and could not be replaced.</summary>
    Damaged,

    /// <summary>A write was committed but flushing it to disk failed: it is in the file, but may not survive a power loss.</summary>
    NotFlushed,

    /// <summary>Any other SQLite or file-system error.</summary>
    Other,
}

/// <summary>
/// One of Isaac's SQLite stores (queue.db, agent.db, hub.db) could not be used. The message is the one line a person
/// sees: what happened, to which file, and what to do next. Every message is built here.
/// </summary>
public sealed class StoreException : IsaacException
{
    private StoreException(StoreFailure failure, string path, string problem, string remedy, string message, Exception? inner)
        : base(message, inner)
    {
        Failure = failure;
        Path = path;
        Problem = problem;
        Remedy = remedy;
    }

    private StoreException(StoreFailure failure, string path, string problem, string remedy, Exception? inner = null)
        : this(failure, path, problem, remedy, $"{problem}. {remedy}", inner)
    {
    }

    public StoreFailure Failure { get; }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    private string Problem { get; }

    private string Remedy { get; }

    /// <summary>The same failure, worded for a command that was to be queued: it was not, and nothing was sent.</summary>
    internal StoreException NotQueued() =>
        new(Failure, Path, Problem, Remedy, $"Not queued: {Problem}. Nothing was sent. {Remedy}", InnerException);

    internal static StoreException ReadOnly(string path, Exception? inner) => new(StoreFailure.ReadOnly, path,
        $"{Name(path)} is read-only ({path})", $"Make it writable (chmod u+w '{path}') and try again.", inner);

    internal static StoreException ReadOnlyFolder(string path, Exception? inner) => new(StoreFailure.ReadOnlyFolder, path,
        $"the folder that holds {Name(path)} is read-only ({Folder(path)})", $"Make it writable (chmod u+w '{Folder(path)}') and try again.", inner);

    internal static StoreException DiskFull(string path, Exception? inner) => new(StoreFailure.DiskFull, path,
        $"the disk is full: {Name(path)} could not grow ({path})", "Free some space and try again.", inner);

    internal static StoreException NotAFile(string path) => new(StoreFailure.NotAFile, path,
        $"{path} is a folder, not the database file {Name(path)}", "Move the folder away so Isaac can create its database there.");

    internal static StoreException PermissionDenied(string path, Exception? inner) => new(StoreFailure.PermissionDenied, path,
        $"{Name(path)} cannot be opened: permission denied ({path})", "Give this user read and write access to the file and its folder.", inner);

    internal static StoreException Foreign(string path, string what, string whose) => new(StoreFailure.Foreign, path,
        $"{path} is not Isaac's {what} database: {whose}", "Isaac did not change it; move it away (or point Isaac at another folder) and try again.");

    internal static StoreException Newer(string path, int found, int known) => new(StoreFailure.Newer, path,
        $"{Name(path)} has schema version {found}, but this Isaac knows only up to {known} ({path})", "Upgrade Isaac, or move the file away to start an empty one.");

    internal static StoreException Busy(string path, Exception? inner) => new(StoreFailure.Busy, path,
        $"{Name(path)} is locked by another process ({path})", "Try again in a moment.", inner);

    internal static StoreException Damaged(string path, string why, Exception? inner) => new(StoreFailure.Damaged, path,
        $"{Name(path)} is damaged ({why}) and could not be replaced ({path})", "Move it away by hand and try again.", inner);

    internal static StoreException NotFlushed(string path, Exception inner) => new(StoreFailure.NotFlushed, path,
        $"{Name(path)} took the change but could not flush it to disk ({inner.Message.TrimEnd('.')}; {path})", "The disk may be failing: check it before relying on the file.", inner);

    internal static StoreException Other(string path, string why, Exception? inner) => new(StoreFailure.Other, path,
        $"{Name(path)} could not be used: {why.TrimEnd('.')} ({path})", "Check the file and its folder, then try again.", inner);

    private static string Name(string path) => System.IO.Path.GetFileName(path);

    private static string Folder(string path) => System.IO.Path.GetDirectoryName(path) ?? ".";
}
