using System.Runtime.InteropServices;

namespace Isaac.Cli.Shell;

/// <summary>While alive, Ctrl-C cancels <see cref="Token"/> instead of ending Isaac.</summary>
internal sealed class CancelOnCtrlC : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly PosixSignalRegistration[] _registrations;

    private CancelOnCtrlC(CancellationToken outer, bool alsoOnTerminate)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        PosixSignal[] signals = alsoOnTerminate ? [PosixSignal.SIGINT, PosixSignal.SIGTERM] : [PosixSignal.SIGINT];
        _registrations = signals.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            _cancel.Cancel();
        })).ToArray();
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>Ctrl-C (and with <paramref name="alsoOnTerminate"/> SIGTERM) cancels <see cref="Token"/>.</summary>
    public static CancelOnCtrlC Start(CancellationToken outer, bool alsoOnTerminate = false) => new(outer, alsoOnTerminate);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }
}
