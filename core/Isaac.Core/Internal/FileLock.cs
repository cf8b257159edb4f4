namespace Isaac.Core.Internal;

/// <summary>
/// An exclusive lock on a file, held until disposed or until the process dies (then the OS frees it, however it died):
/// how processes sharing an ISAAC_HOME agree on one drainer of the queue and one server of the device.
/// </summary>
internal static class FileLock
{
    /// <summary>The held lock, or null when another process holds it (or the file is not ours to take).</summary>
    public static FileStream? TryAcquire(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path) ?? ".");
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
