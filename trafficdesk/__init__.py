"""TrafficDesk: reopen traffic-police service windows by region and by risk level."""
