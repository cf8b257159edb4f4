using System.Runtime.InteropServices;

namespace Isaac.Cli.Shell;

/// <summary>While alive, Ctrl-C cancels <see cref="Token"/> instead of ending Isaac.</summary>
internal sealed class CancelOnCtrlC : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly PosixSignalRegistration _registration;

    private CancelOnCtrlC(CancellationToken outer)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            _cancel.Cancel();
        });
    }

    public CancellationToken Token => _cancel.Token;

    public static CancelOnCtrlC Start(CancellationToken outer) => new(outer);

    public void Dispose()
    {
        _registration.Dispose();
        _cancel.Dispose();
    }
}
