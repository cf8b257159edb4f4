using System.Diagnostics;

namespace Isaac.Core.Tests.Security;

/// <summary>
/// Makes a file or folder read-only for real, until disposed: mode 0444/0555, and, when the tests run as root (who
/// writes through file modes), also the immutable attribute (chattr +i), which stops root too.
/// </summary>
internal sealed class ReadOnlyPath : IDisposable
{
    private readonly string _path;
    private readonly UnixFileMode _mode;
    private readonly bool _immutable;

    public ReadOnlyPath(string path)
    {
        _path = path;
        _mode = File.GetUnixFileMode(path);
        File.SetUnixFileMode(path, Directory.Exists(path)
            ? UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
            : UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        if (Environment.UserName == "root")
        {
            Chattr("+i");
            _immutable = true;
        }
    }

    public void Dispose()
    {
        if (_immutable)
        {
            Chattr("-i");
        }

        File.SetUnixFileMode(_path, _mode);
    }

    private void Chattr(string change)
    {
        using var chattr = Process.Start(new ProcessStartInfo("chattr", [change, _path]) { RedirectStandardError = true })!;
        chattr.WaitForExit();
        Assert.True(chattr.ExitCode == 0, $"chattr {change} {_path} failed: {chattr.StandardError.ReadToEnd()}");
    }
}
