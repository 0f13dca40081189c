using System;
using Akka.Actor;
using Akka.Configuration;
using Tidelog.Persistence.Akka;
using Tidelog.Persistence.Akka.Tests;

// Crash-test child: an actor system with the Tidelog plugin (default sync policy: acknowledged means on disk)
// whose counter persists 1, 2, 3, ... one at a time and prints "persisted <seq>" once each Persist is acknowledged.
// Usage: Tidelog.Persistence.Akka.TestChild.exe PATH BACKEND [until-failure]
//        Tidelog.Persistence.Akka.TestChild.exe PATH BACKEND handoff N SNAPSHOT_EVERY
// handoff: a counter "handoff" persists 1..N with a snapshot every SNAPSHOT_EVERY events, prints
// "handed off <count> <sum>" once every snapshot save has ended, stops the actor system and exits.
// Runs until killed; with until-failure (run under the failsync shim) it prints "persist failed: <exception type>"
// for the storage error Akka reports, then "counter stopped" once the actor has stopped, and exits.
internal static class Program
{
    private sealed class Printer : ReceiveActor
    {
        public Printer(IActorRef counter)
        {
            // The counter persists sequence number n as the value n: recovery can check 1..n exactly.
            Receive<long>(seq =>
            {
                Console.WriteLine($"persisted {seq}");
                Console.Out.Flush();
                counter.Tell((int)(seq + 1));
            });
        }
    }

    private static void Main(string[] args)
    {
        var config = ConfigurationFactory.ParseString(TidelogPersistence.Hocon(args[0], args[1]) + "\nakka.loglevel = WARNING");
        if (args.Length > 4 && args[2] == "handoff")
        {
            HandOff(config, int.Parse(args[3]), int.Parse(args[4]));
            return;
        }
        var system = ActorSystem.Create("crash", config);
        var probe = system.ActorOf(Props.Create(() => new Relay()));
        var counter = system.ActorOf(Counter.Props("crash", 0, probe));
        var report = counter.Ask<CounterReport>("report", TimeSpan.FromSeconds(60)).Result;
        var printer = system.ActorOf(Props.Create(() => new Printer(counter)));
        probe.Tell(printer);
        if (args.Length > 2 && args[2] == "until-failure")
        {
            var watcher = system.ActorOf(Props.Create(() => new Watcher(counter)));
            system.EventStream.Subscribe(watcher, typeof(global::Akka.Event.Error));
        }
        counter.Tell((int)report.Count + 1);
        system.WhenTerminated.Wait();
    }

    private static void HandOff(Config config, int n, int snapshotEvery)
    {
        var system = ActorSystem.Create("handoff", config);
        var counter = system.ActorOf(Counter.Props("handoff", snapshotEvery));
        for (int i = 1; i <= n; i++) counter.Tell(i);
        var report = counter.Ask<CounterReport>("report", TimeSpan.FromSeconds(120)).Result;
        Console.WriteLine($"handed off {report.Count} {report.Sum}");
        Console.Out.Flush();
        system.Terminate().Wait();
    }

    /// <summary>Prints the cause of each error Akka logs (a failed Persist among them) and ends the run when the counter stops.</summary>
    private sealed class Watcher : ReceiveActor
    {
        public Watcher(IActorRef counter)
        {
            Context.Watch(counter);
            Receive<global::Akka.Event.Error>(e =>
            {
                if (e.Cause != null) Console.WriteLine($"persist failed: {e.Cause.GetType().FullName}");
                Console.Out.Flush();
            });
            Receive<Terminated>(_ =>
            {
                Console.WriteLine("counter stopped");
                Console.Out.Flush();
                Context.System.Terminate();
            });
        }
    }

    /// <summary>Forwards the counter's acknowledgements to the printer once it exists.</summary>
    private sealed class Relay : ReceiveActor
    {
        public Relay()
        {
            IActorRef? target = null;
            Receive<IActorRef>(r => target = r);
            Receive<long>(seq => target?.Tell(seq));
        }
    }
}
