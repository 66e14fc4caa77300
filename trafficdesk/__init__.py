"""TrafficDesk: reopen traffic-police service windows region by region and risk level by risk level."""
