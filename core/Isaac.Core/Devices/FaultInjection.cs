using System.Diagnostics;

namespace Isaac.Core.Devices;

/// <summary>
/// Test-only crash points: with <c>ISAAC_AGENT_FAULT=&lt;point&gt;</c> the process kills itself (SIGKILL) there,
/// exactly as <c>kill -9</c> would, so tests can prove recovery from that instant. Points: <c>after-persist</c>
/// (stored, not yet accepted), <c>after-running</c> ("running" durable, handler not started), <c>after-run</c>
/// (result stored, not yet reported; the next command in line, if any, is stored as running in the same transaction
/// and not started).
/// </summary>
internal static class FaultInjection
{
    private static readonly string? _point = Environment.GetEnvironmentVariable("ISAAC_AGENT_FAULT");

    public static void At(string point)
    {
        if (_point == point)
        {
            Process.GetCurrentProcess().Kill();
        }
    }
}
