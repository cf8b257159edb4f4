using System.Runtime.InteropServices;

namespace Isaac.Core.Execution;

/// <summary>
/// Keeps handler processes from outliving Isaac: kills every running handler's processes when Isaac is told to
/// stop (SIGTERM, SIGHUP, SIGINT, SIGQUIT), and at start kills what an Isaac that was SIGKILLed left running.
/// <see cref="ProcessTree"/> explains how a run's processes are found.
/// </summary>
public static class HandlerContainment
{
    private static readonly Lock _gate = new();
    private static readonly HashSet<Action> _running = [];
    private static readonly List<PosixSignalRegistration> _registrations = [];
    private static readonly ManualResetEventSlim _swept = new(initialState: true);
    private static long _lastRun;
    private static bool _stopping;

    /// <summary>
    /// Call once at start-up, before anything runs: reaps handlers abandoned by an Isaac that no longer exists and
    /// kills running handlers when a termination signal arrives (then the signal takes its usual course).
    /// </summary>
    public static void Install()
    {
        // Registered first, so it runs last: a Ctrl-C that cancels the running command (and keeps Isaac alive)
        // never reaches it. Outside Unix there are no such signals and no /proc: nothing to install.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            lock (_gate)
            {
                if (_registrations.Count == 0)
                {
                    foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
                    {
                        _registrations.Add(PosixSignalRegistration.Create(signal, _ => KillAll()));
                    }

                    // A killed handler ends its command, and Isaac may then return from Main while the sweep (on the
                    // signal's thread) is still killing the rest: the exit waits for the sweep, boundedly.
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => _swept.Wait(TimeSpan.FromSeconds(10));
                }
            }
        }

        if (ProcessTree.IsSupported)
        {
            // The /proc scan costs a few milliseconds (more on a busy machine): off the start-up path, on a
            // foreground thread so that even an Isaac that ends at once (`isaac -c /help`) finishes the reap.
            new Thread(ReapAbandoned) { IsBackground = false, Name = "Isaac reaper" }.Start();
        }
    }

    private static void ReapAbandoned()
    {
        foreach (var marker in ProcessTree.AbandonedRuns())
        {
            ProcessTree.Kill(marker, leader: 0);
        }
    }

    /// <summary>A new run: its marker goes into the handler's environment; disposing it kills what is left of the run.</summary>
    internal static ContainedRun Begin() => new($"{ProcessTree.Owner}.{Interlocked.Increment(ref _lastRun)}");

    /// <summary>Whether Isaac has been told to stop (a termination signal arrived).</summary>
    internal static bool IsStopping
    {
        get
        {
            lock (_gate)
            {
                return _stopping;
            }
        }
    }

    /// <summary>Calls <paramref name="kill"/> if Isaac is told to stop before the returned registration is disposed.</summary>
    internal static IDisposable Track(Action kill)
    {
        bool stopping;
        lock (_gate)
        {
            stopping = _stopping;
            _running.Add(kill);
        }

        if (stopping)
        {
            // Started while Isaac was being stopped: it would be missed by the sweep.
            kill();
        }

        return new Registration(kill);
    }

    /// <summary>Kills every running handler and plain shell command (their whole trees).</summary>
    internal static void KillAll()
    {
        Action[] running;
        lock (_gate)
        {
            _stopping = true;
            _swept.Reset();
            running = [.. _running];
        }

        try
        {
            foreach (var kill in running)
            {
                kill();
            }
        }
        finally
        {
            _swept.Set();
        }
    }

    private sealed class Registration(Action kill) : IDisposable
    {
        public void Dispose()
        {
            lock (_gate)
            {
                _running.Remove(kill);
            }
        }
    }
}
