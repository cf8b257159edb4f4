using System.Runtime.InteropServices;
using RadLine;

namespace Isaac.Cli.Shell;

/// <summary>
/// Keys for the line editor. RadLine asks whether a key is waiting and, when none is, sleeps 5 ms with
/// <c>Task.Delay</c> and asks again: 200 timers a second of garbage at an empty prompt, which grows the heap until the
/// GC's first-generation budget is full. Here the question waits in poll(2) on stdin instead, so an idle prompt wakes
/// a few times a second. The wait is short because RadLine only looks at its cancellation token (Ctrl-C) between
/// questions.
/// </summary>
internal sealed partial class TerminalInput : IInputSource
{
    private const int WaitMilliseconds = 100;
    private const short PollIn = 0x001;

    // Right after a key, RadLine asks again to collect the rest of a burst (a paste, an escape sequence): that
    // question must answer at once. Any other question means it is waiting for the next key.
    private bool _justRead;

    public bool ByPassProcessing => false;

    public bool IsKeyAvailable()
    {
        if (Console.KeyAvailable)
        {
            return true;
        }

        if (_justRead)
        {
            _justRead = false;
            return false;
        }

        var stdin = new PollFd { Fd = 0, Events = PollIn };
        _ = Poll(ref stdin, 1, WaitMilliseconds); // a signal (EINTR) or the timeout just means: ask again
        return Console.KeyAvailable;
    }

    public ConsoleKeyInfo ReadKey()
    {
        _justRead = true;
        var key = Console.ReadKey(intercept: true);

        // Keys typed while a command ran went through the terminal's line mode (restored for child processes), which
        // turns Enter into a line feed; RadLine would drop it and run the next lines together as one.
        return key.KeyChar == '\n' ? new ConsoleKeyInfo('\r', ConsoleKey.Enter, shift: false, alt: false, control: false) : key;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll")]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMilliseconds);
}
