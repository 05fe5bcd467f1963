"""Staff accounts: the service's own people, who host meetings."""
