using System.Runtime.InteropServices;
using System.Text;

namespace Isaac.LineEditor;

/// <summary>
/// The terminal as the line editor needs it: raw mode while a line is read (termios through libc: .NET's Console only
/// offers raw mode inside <c>ReadKey</c>, which decodes keys itself and can only be waited on by polling
/// <c>KeyAvailable</c>), a blocking wait on stdin and on a wake-up pipe with no timeout (so an idle prompt costs no
/// CPU, and another thread can still ask for a redraw), and writes straight to stdout's descriptor.
/// The mode is cooked again whenever no line is being read, so commands run in the terminal as the user left it.
/// </summary>
internal sealed partial class RawTerminal : IDisposable
{
    private const int StdIn = 0;
    private const int StdOut = 1;
    private const short PollIn = 0x001;
    private const int Eintr = 4;
    private const int OCloexecNonblock = 0x80000 | 0x800; // O_CLOEXEC | O_NONBLOCK on Linux

    // Large enough for struct termios on every libc (60 bytes on glibc, 72 on macOS): it is only copied, and changed
    // by cfmakeraw.
    private readonly byte[] _cooked = new byte[256];
    private readonly int _wakeRead;
    private readonly int _wakeWrite;
    private bool _raw;

    public RawTerminal()
    {
        Span<int> fds = stackalloc int[2];
        if (Pipe2(ref fds[0], OCloexecNonblock) != 0)
        {
            throw new IOException($"Could not create the line editor's wake-up pipe (errno {Marshal.GetLastPInvokeError()}).");
        }

        (_wakeRead, _wakeWrite) = (fds[0], fds[1]);
    }

    /// <summary>What ended a <see cref="Wait"/>.</summary>
    [Flags]
    public enum Ready
    {
        None = 0,
        Input = 1,
        Woken = 2,
    }

    /// <summary>Raw mode: every byte as typed, no echo, no signals from Ctrl-C/Ctrl-Z, no output processing.</summary>
    public unsafe void EnterRaw()
    {
        if (_raw)
        {
            return;
        }

        fixed (byte* cooked = _cooked)
        {
            if (TcGetAttr(StdIn, cooked) != 0)
            {
                return; // not a terminal after all: read as it comes
            }

            var raw = stackalloc byte[_cooked.Length];
            new Span<byte>(cooked, _cooked.Length).CopyTo(new Span<byte>(raw, _cooked.Length));
            CfMakeRaw(raw);
            // TCSANOW, never TCSAFLUSH: keys typed ahead while a command ran are kept.
            _raw = TcSetAttr(StdIn, 0, raw) == 0;
        }
    }

    /// <summary>Back to the mode the terminal had before <see cref="EnterRaw"/>.</summary>
    public unsafe void LeaveRaw()
    {
        if (!_raw)
        {
            return;
        }

        fixed (byte* cooked = _cooked)
        {
            _ = TcSetAttr(StdIn, 1, cooked); // TCSADRAIN: after what was written
        }

        _raw = false;
    }

    /// <summary>Blocks until a key arrives or <see cref="Wake"/> is called; -1 waits forever.</summary>
    public unsafe Ready Wait(int timeoutMilliseconds)
    {
        var fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = StdIn, Events = PollIn };
        fds[1] = new PollFd { Fd = _wakeRead, Events = PollIn };
        if (Poll(fds, 2, timeoutMilliseconds) <= 0)
        {
            return Ready.None; // timeout, or a signal (EINTR: SIGWINCH, SIGCHLD): the caller looks again
        }

        var ready = Ready.None;
        if (fds[0].Revents != 0)
        {
            ready |= Ready.Input; // POLLHUP/POLLERR too: the read then says the end
        }

        if (fds[1].Revents != 0)
        {
            var drain = stackalloc byte[64];
            while (Read(_wakeRead, drain, 64) > 0)
            {
            }

            ready |= Ready.Woken;
        }

        return ready;
    }

    /// <summary>Reads what stdin has; 0 at the end of input (the terminal went away).</summary>
    public unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                var read = Read(StdIn, bytes, buffer.Length);
                if (read >= 0)
                {
                    return (int)read;
                }

                if (Marshal.GetLastPInvokeError() != Eintr)
                {
                    return 0;
                }
            }
        }
    }

    /// <summary>Ends the current <see cref="Wait"/> (from any thread).</summary>
    public unsafe void Wake()
    {
        byte one = 1;
        _ = Write(_wakeWrite, &one, 1); // a full pipe already means "wake up"
    }

    public unsafe void Write(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* start = bytes)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                var count = Write(StdOut, start + written, bytes.Length - written);
                if (count < 0 && Marshal.GetLastPInvokeError() != Eintr)
                {
                    return; // the terminal went away; the next read says so
                }

                written += (int)Math.Max(0, count);
            }
        }
    }

    public void Dispose()
    {
        LeaveRaw();
        _ = Close(_wakeRead);
        _ = Close(_wakeWrite);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(ref int fds, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr")]
    private static unsafe partial int TcGetAttr(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr")]
    private static unsafe partial int TcSetAttr(int fd, int action, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static unsafe partial void CfMakeRaw(byte* termios);
}
